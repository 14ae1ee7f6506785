/* awsconf.h: AWS credentials and settings found the way the AWS CLI finds them (environment, shared files). */
#ifndef EC_AWSCONF_H
#define EC_AWSCONF_H

#include "ec.h"

/*
 * What a client needs to sign requests. Every field is malloc'ed or NULL;
 * secret_key and session_token must never reach a log or an error.
 */
struct ec_aws_creds {
	char *access_key;
	char *secret_key;
	char *session_token;	/* NULL without temporary credentials */
	char *region;		/* NULL when nothing names one */
	char *endpoint;		/* the profile's endpoint_url, or NULL */
	char *source;		/* where the keys came from, for messages: "environment", "profile NAME" */
};

/*
 * The value of KEY in [SECTION] of the INI text TEXT (AWS shared file
 * syntax: '#'/';' comments, "key = value", indented lines continue the
 * previous key and are not keys themselves), malloc'ed, or NULL.
 */
char *ec_awsconf_get(const char *text, const char *section, const char *key);

/* 1 when TEXT has a [SECTION] header, else 0. */
int ec_awsconf_has_section(const char *text, const char *section);

/*
 * Fill C for PROFILE (NULL: AWS_PROFILE, else "default"). With no PROFILE
 * given, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN come
 * first; else the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
 * ~/.aws/credentials, section [NAME]) and then the config file
 * (AWS_CONFIG_FILE, ~/.aws/config, section [profile NAME] or [default]).
 * The region is AWS_REGION, AWS_DEFAULT_REGION, else the profile's.
 * Returns 0, or 78 (EX_CONFIG) with a message when no credentials are found.
 */
int ec_aws_creds_load(struct ec_aws_creds *c, const char *profile, char *errstr, size_t errstr_size);
void ec_aws_creds_release(struct ec_aws_creds *c);

#endif
