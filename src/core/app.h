/*
 * app.h: the application context every handler receives. It ties the
 * parts together: configuration, the store, and (in later issues) the job
 * executor and the chat delivery worker. It holds no request state.
 *
 * Ownership: app_open() creates everything an app owns; app_close()
 * releases it (accepts NULL).
 */
#ifndef SO_CORE_APP_H
#define SO_CORE_APP_H

#include "core/config.h"

struct store;
struct delivery;
struct pipeline_service;

struct app {
	struct config cfg;      /* owned */
	struct store *store;    /* owned */
	char *secret_key;       /* server secret (hex), from <data_dir>/secret.key */
	/* Set by `serve` after app_open (NULL in CLI commands and most unit
	 * tests); owned and stopped by serve, before app_close. */
	struct delivery *delivery;            /* chat reply outbox worker */
	struct pipeline_service *pipelines;   /* scheduler + executor */
};

/* Takes ownership of *cfg (leaves it zeroed). Creates data_dir and
 * repos_dir (mode 0700), loads or creates the secret key, opens the
 * store. */
int app_open(struct app **out, struct config *cfg);
void app_close(struct app *app);

#endif
