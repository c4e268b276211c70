/*
 * job.js: live updates of a job page's log (served at /assets/job.js,
 * compiled into the binary from this file).
 *
 * Design: the page renders the log server-side; while the job has not
 * finished, the element #trace carries data-trace-url. This script asks
 * that URL for the HTML rendered after a checkpoint token
 * (?state=TOKEN: {"html", "state", "complete", "status", "status_text"})
 * once a second and stops when "complete" is true. A fragment may open a
 * section (<details>) that a later fragment closes, so fragments are not
 * appended to the DOM one by one: the script keeps the concatenated HTML
 * and re-renders the element from it (first from the start of the log),
 * keeping the sections the reader opened or closed and the scroll at the
 * bottom when it was there. It stops at MAX_HTML bytes and points to the
 * raw log. No inline script: the page's CSP allows only 'self'.
 */
(function () {
	'use strict';
	var MAX_HTML = 4 * 1024 * 1024;
	var trace = document.getElementById('trace');
	if (!trace || !trace.dataset.traceUrl || trace.dataset.complete === 'true')
		return;
	var url = trace.dataset.traceUrl;
	var badge = document.getElementById('job-status');
	var notice = document.getElementById('trace-notice');
	var html = '';
	var state = '';
	var toggled = {};

	trace.addEventListener('toggle', function (ev) {
		var all = trace.querySelectorAll('details');
		for (var i = 0; i < all.length; i++)
			if (all[i] === ev.target)
				toggled[i] = all[i].open;
	}, true);

	function render() {
		var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
		trace.innerHTML = html;
		var all = trace.querySelectorAll('details');
		for (var i in toggled)
			if (all[i])
				all[i].open = toggled[i];
		if (atBottom)
			window.scrollTo(0, document.body.scrollHeight);
	}

	function setStatus(status, text) {
		if (!badge || !status)
			return;
		badge.className = 'ci-status ci-' + status;
		badge.textContent = text || status;
		trace.dataset.status = status;
	}

	function poll() {
		var req = new XMLHttpRequest();
		req.open('GET', url + '?state=' + encodeURIComponent(state));
		req.responseType = 'json';
		req.onload = function () {
			var r = req.response;
			if (req.status !== 200 || !r || typeof r.html !== 'string') {
				setTimeout(poll, 3000);
				return;
			}
			if (r.html.length) {
				html += r.html;
				render();
			}
			state = r.state || state;
			setStatus(r.status, r.status_text);
			if (html.length > MAX_HTML) {
				if (notice)
					notice.hidden = false;
				return;
			}
			if (r.complete) {
				trace.dataset.complete = 'true';
				/* play/cancel no longer apply to a finished job */
				var forms = document.querySelectorAll('.job-actions form');
				for (var i = 0; i < forms.length; i++)
					forms[i].hidden = true;
				return;
			}
			setTimeout(poll, r.more ? 0 : 1000);
		};
		req.onerror = function () { setTimeout(poll, 3000); };
		req.send();
	}
	poll();
})();
