/* ckpt.c: atomic file replacement, ack files, control records and snapshot files (DESIGN.md §4). */
#include "ec.h"
#include "ckpt.h"
#include "jsonw.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

int ec_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ec_fsync_dir(const char *dir)
{
	int fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret = -1;

	if (fd >= 0) {
		ret = fsync(fd);
		close(fd);
	}
	return ret;
}

/* fsync the directory holding PATH so a rename in it survives a crash. */
static int fsync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : xstrdup(".");
	int ret = ec_fsync_dir(dir);

	free(dir);
	return ret;
}

int ec_atomic_write(const char *path, const void *data, size_t n, char *errstr, size_t errstr_size)
{
	struct ec_buf tmp = EC_BUF_INIT;
	int fd = -1, ret = -1;

	ec_buf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(errstr, errstr_size, "%s: %s", tmp.buf, strerror(errno));
		goto cleanup;
	}
	if (ec_write_all(fd, data, n) < 0 || fsync(fd) < 0) {
		snprintf(errstr, errstr_size, "%s: %s", tmp.buf, strerror(errno));
		goto cleanup;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(errstr, errstr_size, "%s: %s", tmp.buf, strerror(errno));
		goto cleanup;
	}
	fd = -1;
	if (rename(tmp.buf, path) < 0) {
		snprintf(errstr, errstr_size, "rename to %s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (fsync_parent_dir(path) < 0) {
		snprintf(errstr, errstr_size, "fsync of the directory of %s: %s", path, strerror(errno));
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	if (ret < 0)
		unlink(tmp.buf);
	ec_buf_release(&tmp);
	return ret;
}

int ec_read_file(const char *path, struct ec_buf *out, char *errstr, size_t errstr_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char chunk[65536];
	ssize_t r;

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ec_buf_add(out, chunk, (size_t)r);
	}
	if (r < 0)
		snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
	close(fd);
	if (!out->buf)
		ec_buf_add(out, "", 0);
	return r < 0 ? -1 : 0;
}

/* Re-encode a parsed JSON value as compact text (positions are small values). */
static void yajl_value_to_json(struct ec_buf *b, yajl_val v)
{
	size_t i;

	if (YAJL_IS_STRING(v)) {
		ec_jsonw_cstr(b, YAJL_GET_STRING(v));
	} else if (YAJL_IS_NUMBER(v)) {
		ec_buf_addstr(b, YAJL_GET_NUMBER(v));
	} else if (YAJL_IS_OBJECT(v)) {
		ec_buf_addch(b, '{');
		for (i = 0; i < v->u.object.len; i++) {
			if (i)
				ec_buf_addch(b, ',');
			ec_jsonw_key(b, v->u.object.keys[i]);
			yajl_value_to_json(b, v->u.object.values[i]);
		}
		ec_buf_addch(b, '}');
	} else if (YAJL_IS_ARRAY(v)) {
		ec_buf_addch(b, '[');
		for (i = 0; i < v->u.array.len; i++) {
			if (i)
				ec_buf_addch(b, ',');
			yajl_value_to_json(b, v->u.array.values[i]);
		}
		ec_buf_addch(b, ']');
	} else if (YAJL_IS_TRUE(v)) {
		ec_buf_addstr(b, "true");
	} else if (YAJL_IS_FALSE(v)) {
		ec_buf_addstr(b, "false");
	} else {
		ec_buf_addstr(b, "null");
	}
}

int ec_ack_read(const char *path, struct ec_ack *ack, char *errstr, size_t errstr_size)
{
	struct ec_buf text = EC_BUF_INIT, pos = EC_BUF_INIT;
	char yerr[256];
	yajl_val root = NULL, id, p;
	const char *id_path[] = { "id", NULL }, *pos_path[] = { "pos", NULL };
	int r, ret = -1;

	ack->id = 0;
	ack->pos = NULL;
	r = ec_read_file(path, &text, errstr, errstr_size);
	if (r != 0) {
		ret = r > 0 ? 0 : -1;	/* missing: a fresh start */
		goto cleanup;
	}
	root = yajl_tree_parse(text.buf, yerr, sizeof(yerr));
	if (!root || !YAJL_IS_OBJECT(root)) {
		snprintf(errstr, errstr_size, "%s: not an ack file (expected {\"id\":N,\"pos\":P})", path);
		goto cleanup;
	}
	id = yajl_tree_get(root, id_path, yajl_t_number);
	if (!id || !YAJL_IS_INTEGER(id) || YAJL_GET_INTEGER(id) < 0) {
		snprintf(errstr, errstr_size, "%s: \"id\" must be a non-negative integer", path);
		goto cleanup;
	}
	ack->id = (uint64_t)YAJL_GET_INTEGER(id);
	p = yajl_tree_get(root, pos_path, yajl_t_any);
	if (p) {
		yajl_value_to_json(&pos, p);
		ack->pos = ec_buf_detach(&pos, NULL);
	}
	ret = 0;
cleanup:
	yajl_tree_free(root);
	ec_buf_release(&text);
	return ret;
}

int ec_ack_write(const char *path, uint64_t id, const char *pos, char *errstr, size_t errstr_size)
{
	return ec_ack_write_extra(path, id, pos, NULL, errstr, errstr_size);
}

int ec_ack_write_extra(const char *path, uint64_t id, const char *pos, const char *extra, char *errstr,
		       size_t errstr_size)
{
	struct ec_buf b = EC_BUF_INIT;
	int ret;

	ec_buf_addf(&b, "{\"id\":%" PRIu64 ",\"pos\":%s%s%s}\n", id, pos ? pos : "null",
		    extra && *extra ? "," : "", extra ? extra : "");
	ret = ec_atomic_write(path, b.buf, b.len, errstr, errstr_size);
	ec_buf_release(&b);
	return ret;
}

void ec_ack_release(struct ec_ack *ack)
{
	free(ack->pos);
	ack->pos = NULL;
}

void ec_ctl_restore(struct ec_buf *out, uint64_t id)
{
	ec_buf_addf(out, "{\"_ec\":\"restore\",\"id\":%" PRIu64 "}\n", id);
}

void ec_ctl_barrier(struct ec_buf *out, uint64_t id, const char *pos, uint64_t acked)
{
	ec_buf_addf(out, "{\"_ec\":\"barrier\",\"id\":%" PRIu64 ",\"pos\":%s,\"acked\":%" PRIu64 "}\n",
		    id, pos ? pos : "null", acked);
}

#define SNAPSHOT_PREFIX "snapshot-"
#define SNAPSHOT_SUFFIX ".ndjson"

char *ec_snapshot_path(const char *dir, uint64_t id)
{
	struct ec_buf b = EC_BUF_INIT;
	ec_buf_addf(&b, "%s/" SNAPSHOT_PREFIX "%" PRIu64 SNAPSHOT_SUFFIX, dir, id);
	return ec_buf_detach(&b, NULL);
}

/* The id in a snapshot file name, or -1 if the name is not one of ours. */
static int snapshot_id(const char *name, uint64_t *id)
{
	const char *p = name + strlen(SNAPSHOT_PREFIX);
	char *end;

	if (strncmp(name, SNAPSHOT_PREFIX, strlen(SNAPSHOT_PREFIX)) || *p < '0' || *p > '9')
		return -1;
	errno = 0;
	*id = strtoull(p, &end, 10);
	return errno || strcmp(end, SNAPSHOT_SUFFIX) ? -1 : 0;
}

int ec_snapshot_prune(const char *dir, uint64_t keep_from, uint64_t keep_upto, char *errstr, size_t errstr_size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t id;
	int ret = 0;

	if (!d) {
		snprintf(errstr, errstr_size, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		char *path;
		if (snapshot_id(de->d_name, &id) < 0 || (id >= keep_from && id <= keep_upto))
			continue;
		path = ec_snapshot_path(dir, id);
		if (unlink(path) < 0 && errno != ENOENT) {
			snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
			ret = -1;
		}
		free(path);
	}
	closedir(d);
	return ret;
}
