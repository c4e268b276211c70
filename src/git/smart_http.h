/*
 * smart_http.h: git over HTTP (clone, fetch, push) for project
 * repositories, served by git's own `git http-backend` run as a CGI.
 *
 * Design (docs/GIT.md has the whole story):
 *  - git_http_handler() is registered last in the route table as a
 *    catch-all streaming route: any method, the pattern "/" followed by
 *    "*path", flag HTTP_ROUTE_STREAM.
 *    It answers only paths of the form /<namespace>/<project>.git/<rest>
 *    where rest is a smart-protocol endpoint (info/refs?service=...,
 *    git-upload-pack, git-receive-pack) or a dumb-protocol file (answered
 *    403); every other path returns HTTP_NEXT.
 *  - Authentication is HTTP basic (password or personal access token);
 *    fetching needs Reporter (or a public/internal project), pushing
 *    needs Developer. Projects the caller cannot see are 404, except that
 *    an anonymous caller gets 401 so git asks for credentials.
 *  - The request body is piped to the CGI chunk by chunk, its output is
 *    drained at the same time into a bounded spill (memory, then an
 *    unlinked temporary file), and the answer is streamed back from the
 *    spill and then the pipe: nothing is held whole in memory and the two
 *    pipes can never deadlock.
 *  - After a successful push into a project without a default branch, the
 *    pushed branch becomes the default (store and HEAD).
 */
#ifndef SO_GIT_SMART_HTTP_H
#define SO_GIT_SMART_HTTP_H

struct http_request;

/* The route handler; app is a struct app *. */
int git_http_handler(struct http_request *req, void *app);

#endif
