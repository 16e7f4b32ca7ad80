/*
 * The report's further views, built on what page.js publishes as window.xtrkPage.
 */
(function () {
	"use strict";
	var page = window.xtrkPage;
	if (!page)
		return;
})();
