/*
 * pages.h: the route handlers of the web part, for web.c's route table.
 * Internal to src/web/.
 */
#ifndef SO_WEB_PAGES_H
#define SO_WEB_PAGES_H

struct http_request;

int web_signin_form(struct http_request *req, void *app);  /* GET /users/sign_in */
int web_signin(struct http_request *req, void *app);       /* POST /users/sign_in */
int web_signout(struct http_request *req, void *app);      /* POST /users/sign_out */
int web_dashboard(struct http_request *req, void *app);    /* GET / */

#endif
