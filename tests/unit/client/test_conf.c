/* SPDX-License-Identifier: MIT */
/*
 * Configuration resolution and URL building for every combination of
 * protocol, scheme, domain, URL overrides, API domain, port and the
 * environment layer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "alloc.h"
#include "conf.h"
#include "error.h"

struct url_case {
	e2b_protocol protocol;
	const char *scheme;
	const char *domain;
	const char *api_url;
	const char *sandbox_url;
	int append_id;
	int ignore_api_domain;
	unsigned port;
	const char *api_domain;
	const char *want_api;
	const char *want_envd;
};

static const struct url_case cases[] = {
	/* defaults: native, https, e2b.app */
	{ 0, NULL, NULL, NULL, NULL, 0, 0, 0, NULL,
	  "https://api.e2b.app", "https://49983-sb1.e2b.app" },
	{ E2B_PROTOCOL_NATIVE, NULL, "example.com", NULL, NULL, 0, 0, 0, NULL,
	  "https://api.example.com", "https://49983-sb1.example.com" },
	{ E2B_PROTOCOL_NATIVE, "http", "example.com", NULL, NULL, 0, 0, 0, NULL,
	  "http://api.example.com", "http://49983-sb1.example.com" },
	{ E2B_PROTOCOL_NATIVE, "HTTPS", "example.com", NULL, NULL, 0, 0, 1234, NULL,
	  "https://api.example.com", "https://1234-sb1.example.com" },
	/* the API's domain wins for native envd URLs ... */
	{ E2B_PROTOCOL_NATIVE, NULL, "example.com", NULL, NULL, 0, 0, 0, "edge.example.net",
	  "https://api.example.com", "https://49983-sb1.edge.example.net" },
	/* ... unless ignored, or an IP literal (no subdomains of an IP) */
	{ E2B_PROTOCOL_NATIVE, NULL, "example.com", NULL, NULL, 0, 1, 0, "edge.example.net",
	  "https://api.example.com", "https://49983-sb1.example.com" },
	{ E2B_PROTOCOL_NATIVE, "http", "localhost:8080", "http://127.0.0.1:8080", NULL, 0, 0, 0,
	  "127.0.0.1:8080", "http://127.0.0.1:8080", "http://49983-sb1.localhost:8080" },
	{ E2B_PROTOCOL_NATIVE, "http", "localhost:8080", NULL, NULL, 0, 0, 0, "[::1]:8080",
	  "http://api.localhost:8080", "http://49983-sb1.localhost:8080" },
	/* private: path form, scheme honoured, api domain not used */
	{ E2B_PROTOCOL_PRIVATE, NULL, "example.com", NULL, NULL, 0, 0, 0, "other.net",
	  "https://example.com/kruise/api", "https://example.com/kruise/sb1/49983" },
	{ E2B_PROTOCOL_PRIVATE, "http", "127.0.0.1:49982", NULL, NULL, 0, 0, 0, NULL,
	  "http://127.0.0.1:49982/kruise/api", "http://127.0.0.1:49982/kruise/sb1/49983" },
	{ E2B_PROTOCOL_PRIVATE, "http", "gw.local", NULL, NULL, 0, 0, 49999, NULL,
	  "http://gw.local/kruise/api", "http://gw.local/kruise/sb1/49999" },
	/* overrides win over protocol + domain, trailing slashes dropped */
	{ E2B_PROTOCOL_PRIVATE, "http", "gw.local", "https://api.x.io/", "https://sb.x.io//",
	  0, 0, 0, NULL, "https://api.x.io", "https://sb.x.io" },
	{ E2B_PROTOCOL_NATIVE, NULL, "x.io", NULL, "http://127.0.0.1:9", 1, 0, 0, "y.io",
	  "https://api.x.io", "http://127.0.0.1:9/sb1" },
	{ E2B_PROTOCOL_NATIVE, NULL, "x.io", "http://127.0.0.1:9", "http://127.0.0.1:9", 0, 0, 0,
	  "y.io", "http://127.0.0.1:9", "http://127.0.0.1:9" },
	/* only an API URL: its scheme is used, and envd is at its origin
	 * (header routing) when the API names itself or an IP literal */
	{ 0, NULL, NULL, "http://127.0.0.1:8080", NULL, 0, 0, 0, "127.0.0.1:8080",
	  "http://127.0.0.1:8080", "http://127.0.0.1:8080" },
	{ 0, NULL, NULL, "http://localhost:8080/", NULL, 0, 0, 0, "localhost:8080",
	  "http://localhost:8080", "http://localhost:8080" },
	{ 0, NULL, NULL, "http://10.0.0.1:3000/api", NULL, 0, 0, 0, NULL,
	  "http://10.0.0.1:3000/api", "http://10.0.0.1:3000" },
	{ 0, NULL, NULL, "https://api.example.com", NULL, 0, 0, 0, "example.com",
	  "https://api.example.com", "https://49983-sb1.example.com" },
	{ 0, "https", NULL, "http://gw.example.com", NULL, 0, 0, 0, "edge.example.com",
	  "http://gw.example.com", "https://49983-sb1.edge.example.com" },
};

static void test_conf_url_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct url_case *c = &cases[i];
		e2b_config cfg = E2B_CONFIG_INIT;
		struct e2b__conf conf;
		char *url = NULL;

		cfg.protocol = c->protocol;
		cfg.scheme = c->scheme;
		cfg.domain = c->domain;
		cfg.api_url = c->api_url;
		cfg.sandbox_url = c->sandbox_url;
		cfg.sandbox_url_append_id = c->append_id;
		cfg.ignore_api_domain = c->ignore_api_domain;
		cfg.envd_port = c->port;
		assert_int_equal(e2b__conf_init(&conf, &cfg), 0);
		assert_string_equal(conf.api_url, c->want_api);
		assert_int_equal(e2b__conf_envd_url(&url, &conf, "sb1", c->api_domain), 0);
		assert_string_equal(url, c->want_envd);
		e2b__free(url);
		e2b__conf_release(&conf);
	}
}

static void test_conf_defaults(void **state)
{
	struct e2b__conf conf;

	(void)state;
	assert_int_equal(e2b__conf_init(&conf, NULL), 0);
	assert_int_equal(conf.request_timeout_ms, 60000);
	assert_int_equal(conf.envd_port, 49983);
	assert_int_equal(conf.keepalive_s, 50);
	assert_int_equal(conf.max_retries, 3);
	assert_null(conf.api_key);
	assert_non_null(strstr(conf.user_agent, "libe2b/"));
	e2b__conf_release(&conf);
}

static void test_conf_invalid(void **state)
{
	e2b_config cfg = E2B_CONFIG_INIT;
	struct e2b__conf conf;
	char *url = NULL;
	static const e2b_kv bad_hdr[] = { { "X-Bad\r\nInjected", "v" } };

	(void)state;
	cfg.scheme = "ftp";
	assert_int_equal(e2b__conf_init(&conf, &cfg), E2B_EINVALID);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.domain = "a/b";
	assert_int_equal(e2b__conf_init(&conf, &cfg), E2B_EINVALID);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.api_url = "api.example.com";
	assert_int_equal(e2b__conf_init(&conf, &cfg), E2B_EINVALID);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.headers = bad_hdr;
	cfg.headers_count = 1;
	assert_int_equal(e2b__conf_init(&conf, &cfg), E2B_EINVALID);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.version = 99;
	assert_int_equal(e2b__conf_init(&conf, &cfg), E2B_EINVALID);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	assert_int_equal(e2b__conf_init(&conf, &cfg), 0);
	assert_int_equal(e2b__conf_envd_url(&url, &conf, "", NULL), E2B_EINVALID);
	assert_int_equal(e2b__conf_envd_url(&url, &conf, "a/b", NULL), E2B_EINVALID);
	assert_int_equal(e2b__conf_envd_url(&url, &conf, "a b", NULL), E2B_EINVALID);
	e2b__conf_release(&conf);
}

static void clear_env(void)
{
	static const char *const vars[] = { "E2B_API_KEY", "X_API_KEY", "X_ACCESS_TOKEN",
		"E2B_DOMAIN", "SCHEME", "PROTOCOL", "E2B_API_URL", "E2B_SANDBOX_URL", "E2B_DEBUG" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void test_conf_env_layer(void **state)
{
	e2b_config cfg = E2B_CONFIG_INIT;

	(void)state;
	clear_env();
	setenv("X_API_KEY", "xkey", 1);
	setenv("E2B_DOMAIN", "env.io", 1);
	setenv("SCHEME", "http", 1);
	setenv("PROTOCOL", "PRIVATE", 1);
	setenv("E2B_API_URL", "http://envapi", 1);
	setenv("E2B_SANDBOX_URL", "http://envsb", 1);
	setenv("E2B_DEBUG", "true", 1);
	setenv("X_ACCESS_TOKEN", "tok", 1);
	assert_int_equal(e2b_config_from_env(&cfg), 0);
	assert_string_equal(cfg.api_key, "xkey");
	assert_string_equal(cfg.domain, "env.io");
	assert_string_equal(cfg.scheme, "http");
	assert_int_equal(cfg.protocol, E2B_PROTOCOL_PRIVATE);
	assert_string_equal(cfg.api_url, "http://envapi");
	assert_string_equal(cfg.sandbox_url, "http://envsb");
	assert_string_equal(cfg.access_token, "tok");
	assert_true(cfg.debug);
	/* E2B_API_KEY beats X_API_KEY */
	setenv("E2B_API_KEY", "ekey", 1);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	assert_int_equal(e2b_config_from_env(&cfg), 0);
	assert_string_equal(cfg.api_key, "ekey");
	/* explicit values beat the environment ... */
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.api_key = "mine";
	cfg.scheme = "https";
	assert_int_equal(e2b_config_from_env(&cfg), 0);
	assert_string_equal(cfg.api_key, "mine");
	assert_string_equal(cfg.scheme, "https");
	/* ... and explicit protocol + domain beat environment URLs */
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.domain = "explicit.io";
	assert_int_equal(e2b_config_from_env(&cfg), 0);
	assert_null(cfg.api_url);
	assert_null(cfg.sandbox_url);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	cfg.protocol = E2B_PROTOCOL_NATIVE;
	assert_int_equal(e2b_config_from_env(&cfg), 0);
	assert_null(cfg.api_url);
	assert_string_equal(cfg.domain, "env.io");
	/* empty variables are ignored; unknown PROTOCOL means native */
	clear_env();
	setenv("E2B_DOMAIN", "", 1);
	setenv("PROTOCOL", "weird", 1);
	cfg = (e2b_config)E2B_CONFIG_INIT;
	assert_int_equal(e2b_config_from_env(&cfg), 0);
	assert_null(cfg.domain);
	assert_int_equal(cfg.protocol, E2B_PROTOCOL_NATIVE);
	clear_env();
	cfg.version = 7;
	assert_int_equal(e2b_config_from_env(&cfg), E2B_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf_url_table),
		cmocka_unit_test(test_conf_defaults),
		cmocka_unit_test(test_conf_invalid),
		cmocka_unit_test(test_conf_env_layer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
