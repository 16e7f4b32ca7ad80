/* The files the report page is made of, embedded at build time (src/lib/report/embed.sh). */
#ifndef XTRK_REPORT_ASSETS_H
#define XTRK_REPORT_ASSETS_H

#include <stddef.h>

extern const unsigned char xtrk_asset_uplot_js[], xtrk_asset_uplot_css[], xtrk_asset_uplot_license[];
extern const unsigned char xtrk_asset_page_js[], xtrk_asset_views_js[], xtrk_asset_page_css[];
extern const size_t xtrk_asset_uplot_js_len, xtrk_asset_uplot_css_len, xtrk_asset_uplot_license_len;
extern const size_t xtrk_asset_page_js_len, xtrk_asset_views_js_len, xtrk_asset_page_css_len;

#endif
