/* Unit tests for capture: credentials, secret variables, environment, helper programs, git. */
#include <sys/stat.h>

#include "helpers.h"
#include "xtrk/capture.h"
#include "xtrk/exec.h"
#include "xtrk/tree.h"

static void expect_url(const char *in, const char *want)
{
	char *got = xtrk_url_strip_credentials(in);
	cr_assert_str_eq(got, want, "for %s", in);
	free(got);
}

Test(capture, urls_lose_their_credentials)
{
	expect_url("https://alice:s3cret@github.com/o/r.git", "https://github.com/o/r.git");
	expect_url("https://ghp_token@github.com/o/r.git", "https://github.com/o/r.git");
	expect_url("http://u:p@host:8080/x", "http://host:8080/x");
	expect_url("https://github.com/o/r.git", "https://github.com/o/r.git");
	expect_url("git@github.com:o/r.git", "git@github.com:o/r.git");
	expect_url("ssh://git@host/r.git", "ssh://git@host/r.git");
	expect_url("ssh://git:pw@host/r.git", "ssh://host/r.git");
	expect_url("/srv/git/r.git", "/srv/git/r.git");
}

Test(capture, secret_variables_are_never_recordable)
{
	cr_assert(xtrk_env_var_recordable("CUDA_VISIBLE_DEVICES"));
	cr_assert(xtrk_env_var_recordable("PYTHONHASHSEED"));
	cr_assert(xtrk_env_var_recordable("OMP_NUM_THREADS"));
	cr_assert_not(xtrk_env_var_recordable("HOME"));
	cr_assert_not(xtrk_env_var_recordable("HF_TOKEN"));
	cr_assert_not(xtrk_env_var_recordable("XTRK_API_KEY"));
	cr_assert_not(xtrk_env_var_recordable("CUDA_secret_x"));
	cr_assert_not(xtrk_env_var_recordable("MKL_PASSWORD"));
	cr_assert(xtrk_env_var_secret("aws_secret_access_key"));
	cr_assert_not(xtrk_env_var_secret("CUDA_HOME"));
}

Test(capture, environment_has_the_spec_fields)
{
	xtrk_env_options o = XTRK_ENV_OPTIONS_INIT;
	json_t *env;
	o.python = 0;
	setenv("OMP_NUM_THREADS", "3", 1);
	setenv("OMP_TOKEN", "leak", 1);
	cr_assert_eq(xtrk_capture_env(&env, &o), 0);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "os"), "name")), "Linux");
	cr_assert(json_is_string(json_object_get(env, "host")));
	cr_assert_gt(json_integer_value(json_object_get(json_object_get(env, "cpu"), "cores")), 0);
	cr_assert_gt(json_integer_value(json_object_get(env, "memory_bytes")), 0);
	cr_assert(json_is_array(json_object_get(env, "gpus")));
	cr_assert(json_is_null(json_object_get(env, "python")));
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(env, "vars"), "OMP_NUM_THREADS")), "3");
	cr_assert_null(json_object_get(json_object_get(env, "vars"), "OMP_TOKEN"));
	cr_assert(json_is_string(json_object_get(json_object_get(env, "libs"), "libgit2")));
	json_decref(env);
}

Test(capture, exec_output_status_timeout_and_missing)
{
	xtrk_buf out = XTRK_BUF_INIT;
	int status;
	char *echo[] = { "sh", "-c", "echo hi; exit 3", NULL };
	char *slow[] = { "sleep", "5", NULL };
	char *none[] = { "xtrk-no-such-program", NULL };
	cr_assert_eq(xtrk_exec_capture(&out, echo, 5000, 100, &status), 0);
	cr_assert_str_eq(out.ptr, "hi\n");
	cr_assert_eq(status, 3);
	xtrk_buf_clear(&out);
	cr_assert_lt(xtrk_exec_capture(&out, slow, 200, 100, &status), 0);
	cr_assert(strstr(xtrk_error_last(), "did not finish"));
	cr_assert_eq(xtrk_exec_capture(&out, none, 1000, 100, &status), XTRK_ENOTFOUND);
	xtrk_buf_dispose(&out);
}

Test(capture, source_outside_git_is_null_with_a_warning)
{
	json_t *src;
	xtrk_repo *repo;
	xtrk_txn *txn;
	tmpdir_enter();
	repo = new_repo();
	xtrk_warning_clear();
	setenv("GIT_CEILING_DIRECTORIES", "/tmp", 1);
	cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(repo)), 0);
	cr_assert_eq(xtrk_capture_source(&src, txn, "."), 0);
	cr_assert(json_is_null(json_object_get(src, "commit")));
	cr_assert_eq(xtrk_warning_count(), 1);
	cr_assert(strstr(xtrk_warning_get(0), "not in a git repository"));
	xtrk_warning_clear();
	json_decref(src);
	xtrk_txn_free(txn);
	xtrk_repo_free(repo);
	tmpdir_leave();
}

Test(capture, source_records_commit_dirty_patch_untracked)
{
	json_t *src;
	xtrk_repo *repo;
	xtrk_txn *txn;
	xtrk_buf patch = XTRK_BUF_INIT;
	xtrk_oid pid;
	tmpdir_enter();
	cr_assert_eq(system("git init -q . && git config user.email t@x && git config user.name T && "
		"echo a > a.txt && git add a.txt && git commit -qm one && echo b >> a.txt && echo u > u.txt"), 0);
	repo = new_repo();
	cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(repo)), 0);
	cr_assert_eq(xtrk_capture_source(&src, txn, "."), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_txn_commit(txn), 0);
	cr_assert_eq(strlen(json_string_value(json_object_get(src, "commit"))), 40);
	cr_assert(json_is_true(json_object_get(src, "dirty")));
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(src, "untracked"), 0)), "u.txt");
	cr_assert_eq(json_array_size(json_object_get(src, "untracked")), 1, ".xtrk is not listed");
	cr_assert_eq(xtrk_oid_parse(&pid, json_string_value(json_object_get(src, "patch"))), 0);
	cr_assert_eq(xtrk_odb_read(&patch, NULL, xtrk_repo_odb(repo), &pid, XTRK_OBJ_BLOB), 0);
	cr_assert(strstr(patch.ptr, "+b\n"), "%s", patch.ptr);
	json_decref(src);
	xtrk_buf_dispose(&patch);
	xtrk_txn_free(txn);
	xtrk_repo_free(repo);
	tmpdir_leave();
}

Test(capture, untracked_files_become_a_tree_ordered_level_by_level)
{
	json_t *src, *u;
	xtrk_repo *repo;
	xtrk_txn *txn;
	xtrk_tree *root, *sub;
	xtrk_oid id;
	xtrk_source_options o = XTRK_SOURCE_OPTIONS_INIT;
	const char *exclude[] = { "data" };
	tmpdir_enter();
	/* The workspace is a folder of the git working tree; "a.txt" sorts before "a/b" as a path, after "a" as a name. */
	cr_assert_eq(system("git init -q . && git config user.email t@x && git config user.name T && "
		"echo t > t.txt && git add t.txt && git commit -qm one && mkdir -p ws/a/c ws/data && "
		"echo 1 > ws/a.txt && echo 2 > ws/a/b && echo 3 > ws/a/c/d && echo 4 > ws/data/x && "
		"printf big > ws/big && mkdir .gitx && echo 5 > .gitx/y && echo 6 > top.txt"), 0);
	cr_assert_eq(chdir("ws"), 0);
	repo = new_repo();
	xtrk_warning_clear();
	o.exclude = exclude;
	o.nexclude = 1;
	o.untracked_max_file = 2;
	cr_assert_eq(xtrk_txn_new(&txn, xtrk_repo_odb(repo)), 0);
	cr_assert_eq(xtrk_capture_source_opts(&src, txn, ".", &o), 0, "%s", xtrk_error_last());
	cr_assert_eq(xtrk_txn_commit(txn), 0);
	u = json_object_get(src, "untracked_content");
	cr_assert_eq(json_integer_value(json_object_get(u, "files")), 5, "%s", json_dumps(u, 0));
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(u, "skipped"), 0), "path")),
		"ws/big");
	cr_assert_eq(xtrk_warning_count(), 1);
	cr_assert(strstr(xtrk_warning_get(0), "ws/big"));
	cr_assert_eq(xtrk_oid_parse(&id, json_string_value(json_object_get(u, "id"))), 0);
	cr_assert_eq(xtrk_tree_read(&root, xtrk_repo_odb(repo), &id), 0, "%s", xtrk_error_last());
	cr_assert_eq(root->count, 3); /* .gitx, top.txt, ws */
	cr_assert_str_eq(root->entries[2].name, "ws");
	cr_assert_eq(xtrk_tree_read(&sub, xtrk_repo_odb(repo), &root->entries[2].id), 0, "%s", xtrk_error_last());
	cr_assert_eq(sub->count, 2, "data/ is left out as the run's data");
	cr_assert_str_eq(sub->entries[0].name, "a");
	cr_assert_str_eq(sub->entries[1].name, "a.txt");
	cr_assert_eq(sub->entries[0].files, 2);
	xtrk_tree_free(sub);
	xtrk_tree_free(root);
	xtrk_warning_clear();
	json_decref(src);
	xtrk_txn_free(txn);
	xtrk_repo_free(repo);
	tmpdir_leave();
}

Test(capture, every_url_in_a_text_loses_its_credentials)
{
	expect_url("https://u:pa/ss@host/r.git", "https://host/r.git");
	expect_url("https://host/r.git?access_token=abc&x=1", "https://host/r.git?access_token=REDACTED&x=1");
	expect_url("pkg @ git+https://u:p@h/x.git@v1", "pkg @ git+https://h/x.git@v1");
	expect_url("--index-url https://i:p@pypi/simple --x", "--index-url https://pypi/simple --x");
	expect_url("a=https://u:p@one,b=ssh://g:p@two/r", "a=https://one,b=ssh://two/r");
	expect_url("https://h/cb?code=c1#access_token=t1&state=s", "https://h/cb?code=REDACTED#access_token=REDACTED&state=s");
	expect_url("https://h/k?X-Amz-Signature=s&X-Amz-Expires=9", "https://h/k?X-Amz-Signature=REDACTED&X-Amz-Expires=9");
	expect_url("https://host:8080/a/@scope/pkg", "https://host:8080/a/@scope/pkg");
	expect_url("no url here: a@b", "no url here: a@b");
	expect_url("://odd", "://odd");
	expect_url("", "");
}

Test(capture, secret_names_by_parts)
{
	const char *secret[] = { "GITLAB_PAT", "DB_PASS", "DB_PW", "DB_PWD", "API_KEY", "apiKey", "accessToken",
		"SENTRY_DSN", "SLACK_WEBHOOK_URL", "AZURE_STORAGE_CONNECTION_STRING", "X-Amz-Credential", "sig",
		"client_secret", "AWS_SESSION_TOKEN", "SSHKEY", "GHTOKEN", NULL };
	const char *plain[] = { "PWD", "OLDPWD", "TOKENIZERS_PARALLELISM", "CUDA_VISIBLE_DEVICES", "TF_CPP_MIN_LOG_LEVEL",
		"PATH", "HF_HOME", "page", "state", "COMPASS", NULL };
	for (const char **p = secret; *p; p++)
		cr_assert(xtrk_secret_name(*p), "%s", *p);
	for (const char **p = plain; *p; p++)
		cr_assert_not(xtrk_secret_name(*p), "%s", *p);
	cr_assert_not(xtrk_env_var_recordable("TF_VAR_region"));
	cr_assert(xtrk_env_var_recordable("TF_CPP_MIN_LOG_LEVEL"));
	cr_assert(xtrk_env_var_recordable("TOKENIZERS_PARALLELISM"));
}
