/* SPDX-License-Identifier: MIT */
/*
 * Profiles: named connection settings in ~/.config/e2b/config, an INI file
 * with sections "[profile NAME]" (and "[default]" as a synonym of
 * "[profile default]").
 */
#ifndef E2BCTL_PROFILE_H
#define E2BCTL_PROFILE_H

/** One profile; every field NULL when not set.  Owned strings. */
struct profile {
	char *name;
	char *api_url;
	char *sandbox_url;
	char *domain;
	char *protocol;
	char *scheme;
	char *api_key_file;
	char *user;
};

/**
 * Load profile @p name from the config file (E2B_CONFIG, else
 * $XDG_CONFIG_HOME/e2b/config, else ~/.config/e2b/config).
 *
 * @param[out] out   NULL when the file or the section does not exist and
 *                   the profile was not asked for explicitly
 * @param name       NULL = E2B_PROFILE, else "default"
 * @return 0 or an exit code after printing the error (an explicitly named
 *         profile that does not exist, a malformed file)
 */
int profile_load(struct profile **out, const char *name);

void profile_free(struct profile *p);

#endif /* E2BCTL_PROFILE_H */
