/* Environment capture: OS, host, CPU, memory, GPUs and CUDA, Python, container, variables. */
#include "config.h"
#include <errno.h>
#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <archive.h>
#include <git2.h>
#include <xxhash.h>
#include <yaml.h>
#include <zlib.h>

#include "fileutil.h"
#include "xtrk/capture.h"
#include "xtrk/exec.h"
#include "xtrk/errors.h"
#include "xtrk/json.h"

extern char **environ;

void xtrk_login_name(char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	int rc = getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res);
	if (rc == 0 && res && res->pw_name)
		snprintf(out, len, "%s", res->pw_name);
	else
		snprintf(out, len, "unknown");
	if (rc == ENOMEM || (rc != 0 && errno == ENOMEM))
		xtrk_oom_note();
}

static const char *const var_prefixes[] = {
	"CUDA_", "CUBLAS_", "CUDNN_", "NCCL_", "NVIDIA_", "OMP_", "MKL_", "OPENBLAS_", "BLIS_",
	"TF_", "TORCH_", "PYTORCH_", "XLA_", "JAX_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "XTRK_", NULL
};
static const char *const var_names[] = {
	"PYTHONHASHSEED", "PYTHONPATH", "VIRTUAL_ENV", "CONDA_DEFAULT_ENV", "CONDA_PREFIX",
	"LD_LIBRARY_PATH", "LANG", "LC_ALL", "TZ", "SOURCE_DATE_EPOCH", NULL
};
/*
 * TF_ is TensorFlow's prefix, and Terraform's too: its input variables (TF_VAR_*), command-line
 * arguments (TF_CLI_ARGS*), registry tokens (TF_TOKEN_*) and settings are never recorded.
 */
static const char *const var_denied_prefixes[] = {
	"TF_VAR_", "TF_CLI_", "TF_TOKEN_", "TF_WORKSPACE", "TF_IN_AUTOMATION", "TF_DATA_DIR", "TF_INPUT",
	"TF_LOG", "TF_PLUGIN_", "TF_REGISTRY_", "TF_STATE_", "TF_IGNORE", "TF_REATTACH_PROVIDERS", NULL
};

int xtrk_env_var_secret(const char *name)
{
	return xtrk_secret_name(name);
}

int xtrk_env_var_recordable(const char *name)
{
	int listed = 0;
	if (xtrk_env_var_secret(name))
		return 0;
	for (const char *const *p = var_denied_prefixes; *p; p++)
		if (!strncmp(name, *p, strlen(*p)))
			return 0;
	for (const char *const *p = var_prefixes; *p && !listed; p++)
		listed = !strncmp(name, *p, strlen(*p));
	for (const char *const *p = var_names; *p && !listed; p++)
		listed = !strcmp(name, *p);
	return listed;
}

/* The value of KEY="value" in an os-release style file. */
static json_t *os_release_field(const char *text, const char *key)
{
	size_t kl = strlen(key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, key, kl) && p[kl] == '=') {
			const char *v = p + kl + 1, *e = strchr(v, '\n');
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
				v++;
				n -= 2;
			}
			return json_stringn(v, n);
		}
	}
	return json_null();
}

static json_t *capture_os(void)
{
	struct utsname u;
	xtrk_buf rel = XTRK_BUF_INIT;
	json_t *os = json_object();

	if (uname(&u) == 0) {
		json_object_set_new(os, "name", json_string(u.sysname));
		json_object_set_new(os, "kernel", json_string(u.release));
		json_object_set_new(os, "machine", json_string(u.machine));
	}
	if (xtrk_buf_read_file(&rel, "/etc/os-release") == 0 || xtrk_buf_read_file(&rel, "/usr/lib/os-release") == 0) {
		json_object_set_new(os, "distro", os_release_field(rel.ptr, "PRETTY_NAME"));
		json_object_set_new(os, "distro_id", os_release_field(rel.ptr, "ID"));
		json_object_set_new(os, "distro_version", os_release_field(rel.ptr, "VERSION_ID"));
	}
	xtrk_error_clear();
	xtrk_buf_dispose(&rel);
	return os;
}

static json_t *capture_cpu(void)
{
	xtrk_buf info = XTRK_BUF_INIT;
	json_t *cpu = json_object();
	const char *m;

	json_object_set_new(cpu, "cores", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
	if (xtrk_buf_read_file(&info, "/proc/cpuinfo") == 0 && (m = strstr(info.ptr, "model name"))) {
		const char *colon = strchr(m, ':'), *nl;
		if (colon) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			nl = strchr(colon, '\n');
			json_object_set_new(cpu, "model", json_stringn(colon, nl ? (size_t)(nl - colon) : strlen(colon)));
		}
	}
	if (!json_object_get(cpu, "model")) {
		struct utsname u;
		json_object_set_new(cpu, "model", uname(&u) == 0 ? json_string(u.machine) : json_null());
	}
	xtrk_error_clear();
	xtrk_buf_dispose(&info);
	return cpu;
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	memmove(s, s + strspn(s, " \t"), strlen(s + strspn(s, " \t")) + 1);
}

/* GPUs from nvidia-smi; the driver version alone from /proc when nvidia-smi is absent. */
static json_t *capture_gpus(json_t **cuda_out)
{
	char *q[] = { "nvidia-smi", "--query-gpu=name,driver_version,memory.total,pci.bus_id",
		"--format=csv,noheader,nounits", NULL };
	char *plain[] = { "nvidia-smi", NULL };
	xtrk_buf out = XTRK_BUF_INIT;
	json_t *gpus = json_array();
	const char *cuda = NULL;
	char cudabuf[32] = "";
	int status;

	*cuda_out = json_null();
	if (xtrk_exec_capture(&out, plain, 10000, 1 << 16, &status) == 0 && status == 0 &&
	    (cuda = strstr(out.ptr, "CUDA Version:"))) {
		sscanf(cuda + 13, " %31[0-9.]", cudabuf);
		json_decref(*cuda_out);
		*cuda_out = json_string(cudabuf);
	}
	xtrk_buf_clear(&out);
	if (xtrk_exec_capture(&out, q, 10000, 1 << 16, &status) == 0 && status == 0) {
		/* One GPU per line: "name, driver, memory MiB, bus id". */
		for (char *line = out.ptr; *line; ) {
			char *nl = strchr(line, '\n'), *fields[4] = { 0 }, *f = line;
			int nf = 0;
			if (nl)
				*nl = '\0';
			while (f && nf < 4) {
				char *comma = strchr(f, ',');
				if (comma)
					*comma = '\0';
				trim(f);
				fields[nf++] = f;
				f = comma ? comma + 1 : NULL;
			}
			if (nf >= 2 && *fields[0]) {
				json_t *g = json_object();
				json_object_set_new(g, "name", json_string(fields[0]));
				json_object_set_new(g, "driver", json_string(fields[1]));
				json_object_set_new(g, "cuda", *cudabuf ? json_string(cudabuf) : json_null());
				if (nf > 2)
					json_object_set_new(g, "memory_bytes",
						json_integer(strtoll(fields[2], NULL, 10) * 1024 * 1024));
				if (nf > 3)
					json_object_set_new(g, "bus_id", json_string(fields[3]));
				json_array_append_new(gpus, g);
			}
			if (!nl)
				break;
			line = nl + 1;
		}
	} else if (xtrk_buf_read_file(&out, "/proc/driver/nvidia/version") == 0) {
		/* "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  ..." */
		char ver[64] = "";
		const char *k = strstr(out.ptr, "Kernel Module");
		if (k && sscanf(k + 13, " %63s", ver) == 1) {
			json_t *g = json_object();
			json_object_set_new(g, "name", json_string("NVIDIA GPU (nvidia-smi not found)"));
			json_object_set_new(g, "driver", json_string(ver));
			json_object_set_new(g, "cuda", json_null());
			json_array_append_new(gpus, g);
		}
	}
	xtrk_error_clear();
	xtrk_buf_dispose(&out);
	return gpus;
}

/*
 * The CUDA toolkit a program would build against.  Reading its files is
 * cheap; running nvcc costs tens of milliseconds, so it is the last resort:
 * version.json (CUDA 11+), then CUDA_VERSION in include/cuda.h, then nvcc.
 */
static json_t *capture_cuda_toolkit(void)
{
	const char *home = getenv("CUDA_HOME") ? getenv("CUDA_HOME") : getenv("CUDA_PATH");
	char *argv[] = { "nvcc", "--version", NULL };
	xtrk_buf path = XTRK_BUF_INIT, out = XTRK_BUF_INIT;
	json_t *v = NULL;
	const char *r;
	char ver[32];
	int status, num;

	if (!home || !*home)
		home = "/usr/local/cuda";
	xtrk_buf_printf(&path, "%s/version.json", home);
	if (xtrk_buf_read_file(&out, path.ptr) == 0) {
		json_t *doc = json_loadb(out.ptr, out.size, 0, NULL);
		json_t *cv = json_object_get(json_object_get(doc, "cuda"), "version");
		if (json_is_string(cv))
			v = json_string(json_string_value(cv));
		json_decref(doc);
	}
	xtrk_buf_clear(&path);
	xtrk_buf_clear(&out);
	xtrk_buf_printf(&path, "%s/include/cuda.h", home);
	if (!v && xtrk_buf_read_file(&out, path.ptr) == 0 && (r = strstr(out.ptr, "#define CUDA_VERSION ")) &&
	    sscanf(r + 21, "%d", &num) == 1 && num > 0) {
		snprintf(ver, sizeof(ver), "%d.%d", num / 1000, num % 1000 / 10);
		v = json_string(ver);
	}
	xtrk_buf_clear(&out);
	if (!v && xtrk_exec_capture(&out, argv, 10000, 1 << 14, &status) == 0 && status == 0 &&
	    (r = strstr(out.ptr, "release ")) && sscanf(r + 8, "%31[0-9.]", ver) == 1)
		v = json_string(ver);
	xtrk_error_clear();
	xtrk_buf_dispose(&out);
	xtrk_buf_dispose(&path);
	return v ? v : json_null();
}

static const char python_probe[] =
	"import json, sys, platform\n"
	"pk = {}\n"
	"try:\n"
	"    from importlib import metadata\n"
	"    for d in metadata.distributions():\n"
	"        try:\n"
	"            n = d.metadata['Name']\n"
	"        except Exception:\n"
	"            n = None\n"
	"        if n and n not in pk:\n"
	"            pk[n] = d.version\n"
	"except Exception:\n"
	"    pass\n"
	"import os\n"
	"paths = sorted(set(p for p in sys.path if p and os.path.isdir(p)))\n"
	"print(json.dumps({'version': platform.python_version(), 'implementation': platform.python_implementation(),\n"
	"                  'executable': sys.executable, 'prefix': sys.prefix, 'packages': pk,\n"
	"                  'paths': paths}, sort_keys=True))\n";

static long long mtime_ns(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	return (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/*
 * The absolute path `prog` is started by, found as execvp would but with symbolic links kept: a
 * venv's python is a link to its base interpreter, and only this path tells the two apart.
 */
static char *started_path(const char *prog)
{
	const char *path = getenv("PATH"), *p;
	xtrk_buf b = XTRK_BUF_INIT;
	char *cwd = NULL, *res = NULL;

	if (strchr(prog, '/')) {
		xtrk_buf_sets(&b, prog);
	} else {
		for (p = path ? path : "/usr/bin:/bin"; *p;) {
			const char *colon = strchr(p, ':');
			size_t n = colon ? (size_t)(colon - p) : strlen(p);
			xtrk_buf_clear(&b);
			xtrk_buf_printf(&b, "%.*s/%s", (int)n, n ? p : ".", prog);
			if (!xtrk_buf_oom(&b) && access(b.ptr, X_OK) == 0)
				break;
			xtrk_buf_clear(&b);
			p += n + (colon ? 1 : 0);
		}
	}
	if (b.size && !xtrk_buf_oom(&b)) {
		if (b.ptr[0] == '/')
			res = strdup(b.ptr);
		else if ((cwd = getcwd(NULL, 0)) && (res = malloc(strlen(cwd) + b.size + 2)))
			sprintf(res, "%s/%s", cwd, b.ptr);
	}
	free(cwd);
	xtrk_buf_dispose(&b);
	return res;
}

/* The key that must match for a cached answer: interpreter, PYTHONPATH, sys.path folders' mtimes. */
static json_t *python_key(const char *exe, const char *started, json_t *paths)
{
	json_t *key = json_object(), *m = json_object(), *v;
	const char *pp = getenv("PYTHONPATH");
	size_t i;

	json_object_set_new(key, "exe", json_string(exe));
	json_object_set_new(key, "started", started ? json_string(started) : json_null());
	json_object_set_new(key, "exe_mtime", json_integer(mtime_ns(exe)));
	json_object_set_new(key, "pythonpath", json_string(pp ? pp : ""));
	json_array_foreach(paths, i, v)
		if (json_is_string(v))
			json_object_set_new(m, json_string_value(v), json_integer(mtime_ns(json_string_value(v))));
	json_object_set_new(key, "paths", m);
	return key;
}

static json_t *python_cached(const char *cache, const char *exe, const char *started)
{
	json_error_t je;
	json_t *c, *key, *res = NULL;

	if (!cache || !exe || !(c = json_load_file(cache, 0, &je)))
		return NULL;
	key = python_key(exe, started, json_object_get(json_object_get(c, "result"), "paths"));
	if (json_equal(key, json_object_get(c, "key")) && json_is_object(json_object_get(c, "result")))
		res = json_incref(json_object_get(c, "result"));
	json_decref(key);
	json_decref(c);
	return res;
}

static void python_remember(const char *cache, const char *exe, const char *started, json_t *py)
{
	json_t *c;
	char *text;
	if (!cache || !exe)
		return;
	c = json_pack("{s:o, s:O}", "key", python_key(exe, started, json_object_get(py, "paths")), "result", py);
	/* A cache: a failure to write it only costs time next run. */
	if ((text = xtrk_json_dumps(c, XTRK_JSON_STORE))) {
		char *dir = strdup(cache), *slash = dir ? strrchr(dir, '/') : NULL;
		if (slash && slash != dir) {
			*slash = '\0';
			if (xtrk_mkdir_p(dir) < 0)
				xtrk_error_clear();
		}
		free(dir);
		if (xtrk_write_file_atomic(cache, text, strlen(text), 0644, 0) < 0)
			xtrk_error_clear();
		free(text);
	}
	json_decref(c);
}

static json_t *capture_python(const xtrk_env_options *opts)
{
	char *argv[] = { (char *)(opts->python_exe ? opts->python_exe : "python3"), "-I", "-c",
		(char *)python_probe, NULL };
	xtrk_buf out = XTRK_BUF_INIT, user = XTRK_BUF_INIT;
	json_error_t je;
	json_t *py = NULL;
	char *exe = xtrk_find_program(argv[0]), *started = exe ? started_path(argv[0]) : NULL;
	int status, err;

	if ((py = python_cached(opts->python_cache, exe, started))) {
		free(exe);
		free(started);
		return py;
	}
	/* Another store of this user asked the same Python, unchanged since: its answer holds here. */
	if (opts->python_user_cache && started) {
		const char *pp = getenv("PYTHONPATH");
		xtrk_buf name = XTRK_BUF_INIT;
		xtrk_oid h;
		xtrk_buf_printf(&name, "%s\n%s", started, pp ? pp : "");
		xtrk_oid_hash(&h, name.ptr ? name.ptr : "", name.size);
		xtrk_buf_printf(&user, "%s/python-%s.json", opts->python_user_cache, xtrk_oid_tostr(&h));
		xtrk_buf_dispose(&name);
	}
	if (user.size && !xtrk_buf_oom(&user) && (py = python_cached(user.ptr, exe, started))) {
		python_remember(opts->python_cache, exe, started, py);
		goto done;
	}
	err = xtrk_exec_capture(&out, argv, opts->python_timeout_ms, 16 << 20, &status);
	if (err == XTRK_ENOTFOUND) {
		xtrk_error_clear();
		goto done; /* no Python here: recorded as null, nothing to warn about */
	}
	if (err < 0 || status != 0 || !(py = json_loadb(out.ptr, out.size, 0, &je)) || !json_is_object(py)) {
		xtrk_warning_add("could not read the Python environment from '%s'%s%s", argv[0],
			err < 0 ? ": " : "", err < 0 ? xtrk_error_last() : "");
		json_decref(py);
		py = NULL;
	}
	if (py) {
		python_remember(opts->python_cache, exe, started, py);
		if (user.size && !xtrk_buf_oom(&user))
			python_remember(user.ptr, exe, started, py);
	}
	xtrk_error_clear();
done:
	free(exe);
	free(started);
	xtrk_buf_dispose(&out);
	xtrk_buf_dispose(&user);
	return py ? py : json_null();
}

static json_t *capture_container(void)
{
	xtrk_buf cg = XTRK_BUF_INIT;
	const char *kind = NULL;

	if (access("/.dockerenv", F_OK) == 0)
		kind = "docker";
	else if (access("/run/.containerenv", F_OK) == 0)
		kind = "podman";
	else if (getenv("KUBERNETES_SERVICE_HOST"))
		kind = "kubernetes";
	else if (xtrk_buf_read_file(&cg, "/proc/1/cgroup") == 0 &&
		 (strstr(cg.ptr, "docker") || strstr(cg.ptr, "containerd") || strstr(cg.ptr, "kubepods")))
		kind = strstr(cg.ptr, "kubepods") ? "kubernetes" : "docker";
	else if (getenv("container"))
		kind = getenv("container");
	xtrk_error_clear();
	xtrk_buf_dispose(&cg);
	return kind ? json_string(kind) : json_null();
}

static json_t *capture_vars(void)
{
	json_t *vars = json_object();
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		char name[256];
		if (!eq || (size_t)(eq - *e) >= sizeof(name))
			continue;
		memcpy(name, *e, (size_t)(eq - *e));
		name[eq - *e] = '\0';
		if (xtrk_env_var_recordable(name)) {
			/* A value may still carry a URL with credentials (HF_ENDPOINT=https://u:p@host). */
			char *clean = xtrk_redact_text(eq + 1);
			if (clean)
				json_object_set_new(vars, name, json_string(clean));
			free(clean);
		}
	}
	return vars;
}

static json_t *capture_libs(void)
{
	json_t *libs = json_object();
	int maj, min, rev;
	char v[64];

	git_libgit2_version(&maj, &min, &rev);
	snprintf(v, sizeof(v), "%d.%d.%d", maj, min, rev);
	json_object_set_new(libs, "libgit2", json_string(v));
	json_object_set_new(libs, "zlib", json_string(zlibVersion()));
	snprintf(v, sizeof(v), "%u.%u.%u", XXH_versionNumber() / 10000, XXH_versionNumber() / 100 % 100,
		XXH_versionNumber() % 100);
	json_object_set_new(libs, "xxhash", json_string(v));
	json_object_set_new(libs, "libarchive", json_string(archive_version_string()));
	json_object_set_new(libs, "jansson", json_string(jansson_version_str()));
	json_object_set_new(libs, "libyaml", json_string(yaml_get_version_string()));
	return libs;
}

/* The user's folder of Python answers shared by their stores: $XDG_CACHE_HOME/xtrk, else ~/.cache/xtrk. */
static int python_user_dir(xtrk_buf *out)
{
	const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (base && base[0] == '/')
		xtrk_buf_printf(out, "%s/xtrk", base);
	else if (home && home[0] == '/')
		xtrk_buf_printf(out, "%s/.cache/xtrk", home);
	else
		return -1;
	return xtrk_buf_oom(out) ? -1 : 0;
}

int xtrk_capture_env_repo(json_t **out, xtrk_repo *repo, const char *python_exe)
{
	xtrk_env_options o = XTRK_ENV_OPTIONS_INIT;
	xtrk_buf cache = XTRK_BUF_INIT, user = XTRK_BUF_INIT;
	int err, py;

	*out = NULL;
	if ((err = xtrk_repo_config_bool(&py, repo, "capture.python", 1)) < 0)
		return err;
	o.python = py;
	o.python_exe = python_exe;
	if (xtrk_buf_printf(&cache, "%s/cache/python.json", xtrk_repo_dir(repo)) == 0)
		o.python_cache = cache.ptr;
	if (python_user_dir(&user) == 0)
		o.python_user_cache = user.ptr;
	err = xtrk_capture_env(out, &o);
	xtrk_buf_dispose(&cache);
	xtrk_buf_dispose(&user);
	return err;
}

int xtrk_capture_env(json_t **out, const xtrk_env_options *opts)
{
	static const xtrk_env_options defaults = XTRK_ENV_OPTIONS_INIT;
	json_t *env = json_object(), *cuda;
	char host[256] = "", user[256];
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);

	if (!opts)
		opts = &defaults;
	gethostname(host, sizeof(host) - 1);
	json_object_set_new(env, "os", capture_os());
	json_object_set_new(env, "host", json_string(host));
	xtrk_login_name(user, sizeof(user));
	json_object_set_new(env, "user", json_string(user));
	json_object_set_new(env, "cpu", capture_cpu());
	json_object_set_new(env, "memory_bytes", json_integer(pages > 0 && psize > 0 ? (json_int_t)pages * psize : 0));
	json_object_set_new(env, "gpus", capture_gpus(&cuda));
	json_object_set_new(env, "cuda", json_object());
	json_object_set_new(json_object_get(env, "cuda"), "driver", cuda);
	json_object_set_new(json_object_get(env, "cuda"), "toolkit", capture_cuda_toolkit());
	json_object_set_new(env, "python", opts->python ? capture_python(opts) : json_null());
	json_object_set_new(env, "container", capture_container());
	json_object_set_new(env, "vars", capture_vars());
	json_object_set_new(env, "xtrk", json_string(PACKAGE_VERSION));
	json_object_set_new(env, "libs", capture_libs());
	*out = env;
	return 0;
}
