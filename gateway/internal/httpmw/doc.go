// Package httpmw holds the gateway's HTTP middleware: only what HTTP alone
// has (request ids, access logs, panics, and the protection: rate limits,
// the in-flight limit, request deadlines, body limits). Authentication,
// validation and error mapping run in the services.
package httpmw
