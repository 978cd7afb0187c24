/*  The dashboard's files (daemon/dashboard/), compiled into chordd by
    tools/embed.py, which writes $(BUILD)/daemon/dashboard_assets.c: chordd
    serves them from memory and never reads them from disk.  */
#ifndef CHORDD_DASHBOARD_ASSETS_H
#define CHORDD_DASHBOARD_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;               /* the file's base name, e.g. "dashboard.js" */
    const char *type;               /* its Content-Type */
    const unsigned char *data;      /* its bytes (static) */
    size_t size;                    /* how many */
} chordd_asset_t;

/* Every asset, in the order embed.py was given them. */
extern const chordd_asset_t chordd_dashboard_assets[];

/* How many chordd_dashboard_assets there are. */
extern const size_t chordd_dashboard_asset_count;

#endif
