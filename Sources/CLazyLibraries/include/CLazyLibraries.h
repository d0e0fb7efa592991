// libmongoc and libpq, opened the first time the process calls one of their functions instead of by
// the loader at start. Both bring large dependency trees whose initialisers run on load (libmongoc's
// runs mongoc_init: OpenSSL's configuration, SASL's plugins; GnuTLS, which libpq pulls in through
// LDAP, initialises itself), and every page they touch counts in a worker's resident memory even in
// a worker that never talks to MongoDB or PostgreSQL. The stubs (mongoc_stubs.c, libpq_stubs.c)
// define the functions the Swift modules call, with the headers' prototypes, and forward each call
// to the library, opened once (pthread_once) on the first. CMongoc and CLibPQ therefore give
// headers only and link nothing; libbson stays linked (small, no initialiser).
// Nothing to call from here: linking this target is what provides the functions.
#pragma once
