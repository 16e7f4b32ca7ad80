/* Unit tests for the growable buffer. */
#include "helpers.h"

Test(buf, starts_empty_and_printable)
{
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_str_eq(b.ptr, "");
	cr_assert_eq(b.size, 0);
	xtrk_buf_dispose(&b);
}

Test(buf, put_puts_printf)
{
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_buf_puts(&b, "run "), 0);
	cr_assert_eq(xtrk_buf_printf(&b, "%d of %s", 3, "eight"), 0);
	cr_assert_eq(xtrk_buf_putc(&b, '!'), 0);
	cr_assert_str_eq(b.ptr, "run 3 of eight!");
	cr_assert_eq(b.size, 15);
	xtrk_buf_dispose(&b);
}

Test(buf, grows_past_many_reallocations)
{
	xtrk_buf b = XTRK_BUF_INIT;
	for (int i = 0; i < 100000; i++)
		cr_assert_eq(xtrk_buf_printf(&b, "%05d", i % 100000), 0);
	cr_assert_eq(b.size, 500000);
	cr_assert_eq(strncmp(b.ptr + 499995, "99999", 5), 0);
	xtrk_buf_dispose(&b);
}

Test(buf, long_printf_is_not_truncated)
{
	xtrk_buf b = XTRK_BUF_INIT;
	char big[5000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert_eq(xtrk_buf_printf(&b, "<%s>", big), 0);
	cr_assert_eq(b.size, 5001);
	cr_assert_eq(b.ptr[5000], '>');
	xtrk_buf_dispose(&b);
}

Test(buf, truncate_clear_detach)
{
	xtrk_buf b = XTRK_BUF_INIT;
	char *s;
	xtrk_buf_puts(&b, "abcdef");
	xtrk_buf_truncate(&b, 3);
	cr_assert_str_eq(b.ptr, "abc");
	xtrk_buf_clear(&b);
	cr_assert_str_eq(b.ptr, "");
	xtrk_buf_puts(&b, "kept");
	s = xtrk_buf_detach(&b);
	cr_assert_str_eq(s, "kept");
	cr_assert_str_eq(b.ptr, "");
	free(s);
}

Test(buf, joinpath)
{
	xtrk_buf b = XTRK_BUF_INIT;
	xtrk_buf_joinpath(&b, "/a/b", "c");
	cr_assert_str_eq(b.ptr, "/a/b/c");
	xtrk_buf_joinpath(&b, "/a/b/", "c");
	cr_assert_str_eq(b.ptr, "/a/b/c");
	xtrk_buf_dispose(&b);
}

Test(buf, read_file_missing_is_notfound)
{
	xtrk_buf b = XTRK_BUF_INIT;
	cr_assert_eq(xtrk_buf_read_file(&b, "/nonexistent/xtrk"), XTRK_ENOTFOUND);
	cr_assert(strstr(xtrk_error_last(), "/nonexistent/xtrk"));
	xtrk_buf_dispose(&b);
}

Test(error, a_message_wrapped_around_the_last_one_keeps_it)
{
	xtrk_error_set(XTRK_EINVALID, "inner %d", 1);
	cr_assert_eq(xtrk_error_set(XTRK_ECORRUPT, "outer (%s) and (%s)", xtrk_error_last(), xtrk_error_last()),
		XTRK_ECORRUPT);
	cr_assert_str_eq(xtrk_error_last(), "outer (inner 1) and (inner 1)");
}
