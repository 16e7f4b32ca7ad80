/* The report's per-run details: what the comparison and lineage views show (report_detail.h). */
#include "config.h"

#include "report_detail.h"

int report_run_detail(json_t *row, xtrk_repo *repo, json_t *rec)
{
	(void)row;
	(void)repo;
	(void)rec;
	return 0;
}
