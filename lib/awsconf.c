/* awsconf.c: AWS credentials and region from the environment and the shared credentials and config files. */
#include "ec.h"
#include "awsconf.h"
#include "ckpt.h"
#include <ctype.h>

/* [S, E) without leading and trailing blanks. */
static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

/* 1 when [S, E) spells WORD exactly. */
static int span_is(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && !memcmp(s, word, n);
}

/*
 * Walk TEXT line by line. A "[name]" line opens a section; in the section
 * named SECTION, a line "KEY = value" that starts in column 0 is a setting
 * (indented lines continue the one before, as Python's configparser reads
 * them, so nested "s3 =" blocks never look like top-level keys). Returns
 * the value of KEY (malloc'ed), or NULL; with KEY NULL, returns "" (as a
 * static marker) when the section exists.
 */
static char *ini_scan(const char *text, const char *section, const char *key)
{
	static char found_marker[] = "";
	const char *p = text, *eol, *s, *e, *eq;
	int in_section = 0;

	for (; p && *p; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		s = p;
		e = eol;
		if (s < e && (*s == ' ' || *s == '\t'))
			continue;	/* a continuation line */
		trim(&s, &e);
		if (s == e || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			const char *close = memchr(s, ']', (size_t)(e - s));

			if (!close)
				continue;
			s++;
			e = close;
			trim(&s, &e);
			in_section = span_is(s, e, section);
			if (in_section && !key)
				return found_marker;
			continue;
		}
		if (!in_section || !key)
			continue;
		eq = memchr(s, '=', (size_t)(e - s));
		if (!eq)
			continue;
		{
			const char *ks = s, *ke = eq, *vs = eq + 1, *ve = e;

			trim(&ks, &ke);
			trim(&vs, &ve);
			if (span_is(ks, ke, key))
				return xstrndup(vs, (size_t)(ve - vs));
		}
	}
	return NULL;
}

char *ec_awsconf_get(const char *text, const char *section, const char *key)
{
	return key ? ini_scan(text, section, key) : NULL;
}

int ec_awsconf_has_section(const char *text, const char *section)
{
	return ini_scan(text, section, NULL) != NULL;
}

/* A non-empty environment variable, or NULL. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* The path in variable VAR ("~/" expanded), else ~/.aws/DEFAULT_NAME; malloc'ed. */
static char *aws_file_path(const char *var, const char *default_name)
{
	const char *v = env(var), *home = env("HOME");
	struct ec_buf b = EC_BUF_INIT;

	if (v && !(v[0] == '~' && v[1] == '/'))
		return xstrdup(v);
	ec_buf_addstr(&b, home ? home : "");
	if (v)
		ec_buf_addstr(&b, v + 1);
	else
		ec_buf_addf(&b, "/.aws/%s", default_name);
	return ec_buf_detach(&b, NULL);
}

/* Read the file in VAR (or ~/.aws/NAME) into OUT; a missing file is empty. 0, or 78. */
static int load_aws_file(const char *var, const char *name, struct ec_buf *out, char *errstr, size_t errstr_size)
{
	char *path = aws_file_path(var, name);
	char err[256];
	int r = ec_read_file(path, out, err, sizeof(err));

	if (r < 0)
		snprintf(errstr, errstr_size, "cannot read AWS %s file: %s", name, err);
	free(path);
	if (!out->buf)
		ec_buf_add(out, "", 0);
	return r < 0 ? EX_CONFIG : 0;
}

/* A setting of PROFILE in the config file: [default] or [profile NAME] ([profile default] too). */
static char *config_get(const char *config, const char *profile, const char *key)
{
	struct ec_buf sec = EC_BUF_INIT;
	char *v = NULL;

	if (!strcmp(profile, "default"))
		v = ec_awsconf_get(config, "default", key);
	if (!v) {
		ec_buf_addf(&sec, "profile %s", profile);
		v = ec_awsconf_get(config, sec.buf, key);
	}
	ec_buf_release(&sec);
	return v;
}

static int config_has_profile(const char *config, const char *profile)
{
	struct ec_buf sec = EC_BUF_INIT;
	int has;

	ec_buf_addf(&sec, "profile %s", profile);
	has = ec_awsconf_has_section(config, sec.buf) ||
	      (!strcmp(profile, "default") && ec_awsconf_has_section(config, "default"));
	ec_buf_release(&sec);
	return has;
}

/* Keys from the environment; 1 when they are there, 0 when not, 78 when half there. */
static int creds_from_env(struct ec_aws_creds *c, char *errstr, size_t errstr_size)
{
	const char *id = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY");
	const char *token = env("AWS_SESSION_TOKEN");

	if (!id && !secret)
		return 0;
	if (!id || !secret) {
		snprintf(errstr, errstr_size, "%s is set but %s is not",
			 id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			 id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return EX_CONFIG;
	}
	if (!token)
		token = env("AWS_SECURITY_TOKEN");	/* the older name, still honoured by the CLI */
	c->access_key = xstrdup(id);
	c->secret_key = xstrdup(secret);
	c->session_token = token ? xstrdup(token) : NULL;
	c->source = xstrdup("environment");
	return 1;
}

/* Keys of PROFILE from the credentials file, else from the config file. 1 found, 0 not. */
static int creds_from_files(struct ec_aws_creds *c, const char *creds, const char *config, const char *profile)
{
	char *id = ec_awsconf_get(creds, profile, "aws_access_key_id");
	char *secret = ec_awsconf_get(creds, profile, "aws_secret_access_key");
	char *token = ec_awsconf_get(creds, profile, "aws_session_token");
	const char *where = "credentials file";
	struct ec_buf src = EC_BUF_INIT;

	if (!id || !secret) {
		free(id);
		free(secret);
		free(token);
		id = config_get(config, profile, "aws_access_key_id");
		secret = config_get(config, profile, "aws_secret_access_key");
		token = config_get(config, profile, "aws_session_token");
		where = "config file";
	}
	if (!id || !*id || !secret || !*secret) {
		free(id);
		free(secret);
		free(token);
		return 0;
	}
	if (token && !*token) {
		free(token);
		token = NULL;
	}
	c->access_key = id;
	c->secret_key = secret;
	c->session_token = token;
	ec_buf_addf(&src, "profile %s (%s)", profile, where);
	c->source = ec_buf_detach(&src, NULL);
	return 1;
}

int ec_aws_creds_load(struct ec_aws_creds *c, const char *profile, char *errstr, size_t errstr_size)
{
	struct ec_buf creds = EC_BUF_INIT, config = EC_BUF_INIT;
	const char *name = profile && *profile ? profile : env("AWS_PROFILE");
	const char *region;
	int ret = EX_CONFIG, r;

	memset(c, 0, sizeof(*c));
	if (!name)
		name = "default";
	if (load_aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials", &creds, errstr, errstr_size) ||
	    load_aws_file("AWS_CONFIG_FILE", "config", &config, errstr, errstr_size))
		goto cleanup;
	/* A profile named on the command line wins over keys in the environment, as with the CLI. */
	r = profile && *profile ? 0 : creds_from_env(c, errstr, errstr_size);
	if (r == EX_CONFIG)
		goto cleanup;
	if (!r && !creds_from_files(c, creds.buf, config.buf, name)) {
		if (strcmp(name, "default") && !ec_awsconf_has_section(creds.buf, name) &&
		    !config_has_profile(config.buf, name))
			snprintf(errstr, errstr_size, "AWS profile '%s' not found in the shared credentials or config file", name);
		else
			snprintf(errstr, errstr_size, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
				 "or aws_access_key_id and aws_secret_access_key for profile '%s' in ~/.aws/credentials", name);
		goto cleanup;
	}
	region = env("AWS_REGION");
	if (!region)
		region = env("AWS_DEFAULT_REGION");
	c->region = region ? xstrdup(region) : config_get(config.buf, name, "region");
	if (c->region && !*c->region) {
		free(c->region);
		c->region = NULL;
	}
	c->endpoint = config_get(config.buf, name, "endpoint_url");
	if (c->endpoint && !*c->endpoint) {
		free(c->endpoint);
		c->endpoint = NULL;
	}
	ret = 0;
cleanup:
	if (ret)
		ec_aws_creds_release(c);
	ec_buf_release(&creds);
	ec_buf_release(&config);
	return ret;
}

void ec_aws_creds_release(struct ec_aws_creds *c)
{
	if (c->secret_key)
		memset(c->secret_key, 0, strlen(c->secret_key));
	free(c->access_key);
	free(c->secret_key);
	free(c->session_token);
	free(c->region);
	free(c->endpoint);
	free(c->source);
	memset(c, 0, sizeof(*c));
}
