/*  GET / and GET /dashboard/NAME: the live ring dashboard, a page whose
    files are compiled into chordd (daemon/dashboard/, embedded by
    tools/embed.py), so it needs no CDN, no internet and no file on disk.

    The page itself reads the ring in the browser from GET /v1/ring and
    GET /v1/lookup/KEY; serving it costs the peer a memory copy of a few
    kilobytes and nothing else. Every reply carries a strict
    Content-Security-Policy: the page may load and fetch only from this
    origin, runs no inline script, and may not be framed.  */
#include "http_internal.h"

#include <string.h>

#include "dashboard_assets.h"

#define S_PREFIX "/dashboard/"
#define S_INDEX  "index.html"

/* Only this origin's scripts, styles, images and fetches; no plugins, no framing. */
#define S_CSP                                                                                             \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "      \
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static const chordd_asset_t *s_asset (const char *name)
{
    for (size_t i = 0; i < chordd_dashboard_asset_count; i++)
        if (strcmp (chordd_dashboard_assets[i].name, name) == 0)
            return &chordd_dashboard_assets[i];
    return NULL;
}

/*  The asset's bytes are static, so the response points at them instead
    of copying (MHD_RESPMEM_PERSISTENT).  */
static chordd_http_result_t s_serve (struct MHD_Connection *connection, const chordd_asset_t *asset)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer (asset->size, (void *) asset->data, MHD_RESPMEM_PERSISTENT);
    if (!response)
        return MHD_NO;
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, asset->type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header (response, "Content-Security-Policy", S_CSP);
    MHD_add_response_header (response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header (response, "Referrer-Policy", "no-referrer");
    chordd_http_result_t rc = MHD_queue_response (connection, MHD_HTTP_OK, response);
    MHD_destroy_response (response);
    return rc;
}

chordd_http_result_t chordd_http_dashboard (const chordd_http_request_t *request)
{
    const char *url = request->url;
    const chordd_asset_t *asset = NULL;
    if (strcmp (url, "/") == 0)
        asset = s_asset (S_INDEX);
    else if (strncmp (url, S_PREFIX, strlen (S_PREFIX)) == 0)
        //  Names are compared with the table's, never used as paths, so
        //  "../" or any other bytes can only fail to match.
        asset = s_asset (url + strlen (S_PREFIX));
    if (!asset)
        return chordd_http_reply_error (request->connection, MHD_HTTP_NOT_FOUND, "not found");
    return s_serve (request->connection, asset);
}
