// libpq opened on first call: with it come Kerberos, LDAP and GnuTLS, which initialises itself on load.
// Generated from the headers' prototypes; the compiler checks each stub against them.
// A new function of this library used from Swift needs a stub here (else: undefined symbol at link).
#include <pthread.h>

#include <postgresql/libpq-fe.h>

#include "lazy_library.h"

#define LIBPQ_FUNCTIONS(X) \
    X(PQcancel) \
    X(PQclear) \
    X(PQcmdTuples) \
    X(PQconndefaults) \
    X(PQconnectdbParams) \
    X(PQconninfoFree) \
    X(PQencryptPasswordConn) \
    X(PQerrorMessage) \
    X(PQexec) \
    X(PQexecParams) \
    X(PQexecPrepared) \
    X(PQfinish) \
    X(PQfname) \
    X(PQfreeCancel) \
    X(PQfreemem) \
    X(PQgetCancel) \
    X(PQgetisnull) \
    X(PQgetlength) \
    X(PQgetvalue) \
    X(PQnfields) \
    X(PQntuples) \
    X(PQprepare) \
    X(PQresStatus) \
    X(PQresultErrorField) \
    X(PQresultErrorMessage) \
    X(PQresultStatus) \
    X(PQsetNoticeReceiver) \
    X(PQsocket) \
    X(PQstatus) \
    X(PQtransactionStatus)

static struct {
#define FIELD(name) __typeof__(name) *name;
    LIBPQ_FUNCTIONS(FIELD)
#undef FIELD
} libpq;
static pthread_once_t libpq_once = PTHREAD_ONCE_INIT;

static void libpq_load(void) {
    void *library = fleet_lazy_open("libpq.so.5");
#define RESOLVE(name) libpq.name = fleet_lazy_symbol(library, "libpq.so.5", #name);
    LIBPQ_FUNCTIONS(RESOLVE)
#undef RESOLVE
}

#define LOADED(name) (pthread_once(&libpq_once, libpq_load), libpq.name)

FLEET_LAZY_STUB int PQcancel(PGcancel *a0, char *a1, int a2) { return LOADED(PQcancel)(a0, a1, a2); }
FLEET_LAZY_STUB void PQclear(PGresult *a0) { LOADED(PQclear)(a0); }
FLEET_LAZY_STUB char *PQcmdTuples(PGresult *a0) { return LOADED(PQcmdTuples)(a0); }
FLEET_LAZY_STUB PQconninfoOption *PQconndefaults(void) { return LOADED(PQconndefaults)(); }
FLEET_LAZY_STUB PGconn *PQconnectdbParams(const char *const *a0, const char *const *a1, int a2) { return LOADED(PQconnectdbParams)(a0, a1, a2); }
FLEET_LAZY_STUB void PQconninfoFree(PQconninfoOption *a0) { LOADED(PQconninfoFree)(a0); }
FLEET_LAZY_STUB char *PQencryptPasswordConn(PGconn *a0, const char *a1, const char *a2, const char *a3) { return LOADED(PQencryptPasswordConn)(a0, a1, a2, a3); }
FLEET_LAZY_STUB char *PQerrorMessage(const PGconn *a0) { return LOADED(PQerrorMessage)(a0); }
FLEET_LAZY_STUB PGresult *PQexec(PGconn *a0, const char *a1) { return LOADED(PQexec)(a0, a1); }
FLEET_LAZY_STUB PGresult *PQexecParams(PGconn *a0, const char *a1, int a2, const Oid *a3, const char *const *a4, const int *a5, const int *a6, int a7) { return LOADED(PQexecParams)(a0, a1, a2, a3, a4, a5, a6, a7); }
FLEET_LAZY_STUB PGresult *PQexecPrepared(PGconn *a0, const char *a1, int a2, const char *const *a3, const int *a4, const int *a5, int a6) { return LOADED(PQexecPrepared)(a0, a1, a2, a3, a4, a5, a6); }
FLEET_LAZY_STUB void PQfinish(PGconn *a0) { LOADED(PQfinish)(a0); }
FLEET_LAZY_STUB char *PQfname(const PGresult *a0, int a1) { return LOADED(PQfname)(a0, a1); }
FLEET_LAZY_STUB void PQfreeCancel(PGcancel *a0) { LOADED(PQfreeCancel)(a0); }
FLEET_LAZY_STUB void PQfreemem(void *a0) { LOADED(PQfreemem)(a0); }
FLEET_LAZY_STUB PGcancel *PQgetCancel(PGconn *a0) { return LOADED(PQgetCancel)(a0); }
FLEET_LAZY_STUB int PQgetisnull(const PGresult *a0, int a1, int a2) { return LOADED(PQgetisnull)(a0, a1, a2); }
FLEET_LAZY_STUB int PQgetlength(const PGresult *a0, int a1, int a2) { return LOADED(PQgetlength)(a0, a1, a2); }
FLEET_LAZY_STUB char *PQgetvalue(const PGresult *a0, int a1, int a2) { return LOADED(PQgetvalue)(a0, a1, a2); }
FLEET_LAZY_STUB int PQnfields(const PGresult *a0) { return LOADED(PQnfields)(a0); }
FLEET_LAZY_STUB int PQntuples(const PGresult *a0) { return LOADED(PQntuples)(a0); }
FLEET_LAZY_STUB PGresult *PQprepare(PGconn *a0, const char *a1, const char *a2, int a3, const Oid *a4) { return LOADED(PQprepare)(a0, a1, a2, a3, a4); }
FLEET_LAZY_STUB char *PQresStatus(ExecStatusType a0) { return LOADED(PQresStatus)(a0); }
FLEET_LAZY_STUB char *PQresultErrorField(const PGresult *a0, int a1) { return LOADED(PQresultErrorField)(a0, a1); }
FLEET_LAZY_STUB char *PQresultErrorMessage(const PGresult *a0) { return LOADED(PQresultErrorMessage)(a0); }
FLEET_LAZY_STUB ExecStatusType PQresultStatus(const PGresult *a0) { return LOADED(PQresultStatus)(a0); }
FLEET_LAZY_STUB PQnoticeReceiver PQsetNoticeReceiver(PGconn *a0, PQnoticeReceiver a1, void *a2) { return LOADED(PQsetNoticeReceiver)(a0, a1, a2); }
FLEET_LAZY_STUB int PQsocket(const PGconn *a0) { return LOADED(PQsocket)(a0); }
FLEET_LAZY_STUB ConnStatusType PQstatus(const PGconn *a0) { return LOADED(PQstatus)(a0); }
FLEET_LAZY_STUB PGTransactionStatusType PQtransactionStatus(const PGconn *a0) { return LOADED(PQtransactionStatus)(a0); }
