// libpq, loaded on first use: only spells whose state (or queue) lives in PostgreSQL open a
// connection; every other start-up should not pay for loading it. See lazy_library.hpp. The
// functions are the ones llmspell calls and their close relatives (notifications, escaping).
#include <libpq-fe.h>

#include "llmspell/core/lazy_library.hpp"

namespace {
void* pq(const char* name) {
  static void* lib = llmspell::lazy::library("libpq.so.5", "libpq5");
  return llmspell::lazy::symbol(lib, "libpq.so.5", name);
}
}  // namespace

#define F(ret, name, params, args) LLMSPELL_LAZY_FORWARD(pq, ret, name, params, args)
F(PGconn*, PQconnectdb, (const char* conninfo), (conninfo))
F(void, PQfinish, (PGconn * conn), (conn))
F(void, PQreset, (PGconn * conn), (conn))
F(ConnStatusType, PQstatus, (const PGconn* conn), (conn))
F(PGTransactionStatusType, PQtransactionStatus, (const PGconn* conn), (conn))
F(char*, PQerrorMessage, (const PGconn* conn), (conn))
F(int, PQsocket, (const PGconn* conn), (conn))
F(PQnoticeProcessor, PQsetNoticeProcessor, (PGconn * conn, PQnoticeProcessor proc, void* arg), (conn, proc, arg))
F(PGresult*, PQexec, (PGconn * conn, const char* query), (conn, query))
F(PGresult*, PQexecParams,
  (PGconn * conn, const char* command, int nParams, const Oid* paramTypes, const char* const* paramValues,
   const int* paramLengths, const int* paramFormats, int resultFormat),
  (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat))
F(PGresult*, PQprepare, (PGconn * conn, const char* stmtName, const char* query, int nParams, const Oid* paramTypes),
  (conn, stmtName, query, nParams, paramTypes))
F(PGresult*, PQexecPrepared,
  (PGconn * conn, const char* stmtName, int nParams, const char* const* paramValues, const int* paramLengths,
   const int* paramFormats, int resultFormat),
  (conn, stmtName, nParams, paramValues, paramLengths, paramFormats, resultFormat))
F(int, PQsendQuery, (PGconn * conn, const char* query), (conn, query))
F(PGresult*, PQgetResult, (PGconn * conn), (conn))
F(int, PQisBusy, (PGconn * conn), (conn))
F(int, PQconsumeInput, (PGconn * conn), (conn))
F(PGnotify*, PQnotifies, (PGconn * conn), (conn))
F(PGPing, PQping, (const char* conninfo), (conninfo))
F(ExecStatusType, PQresultStatus, (const PGresult* res), (res))
F(char*, PQresultErrorMessage, (const PGresult* res), (res))
F(char*, PQresultErrorField, (const PGresult* res, int fieldcode), (res, fieldcode))
F(int, PQntuples, (const PGresult* res), (res))
F(int, PQnfields, (const PGresult* res), (res))
F(char*, PQfname, (const PGresult* res, int field), (res, field))
F(char*, PQcmdTuples, (PGresult * res), (res))
F(char*, PQgetvalue, (const PGresult* res, int row, int field), (res, row, field))
F(int, PQgetlength, (const PGresult* res, int row, int field), (res, row, field))
F(int, PQgetisnull, (const PGresult* res, int row, int field), (res, row, field))
F(void, PQclear, (PGresult * res), (res))
F(void, PQfreemem, (void* ptr), (ptr))
F(char*, PQescapeLiteral, (PGconn * conn, const char* str, size_t len), (conn, str, len))
F(char*, PQescapeIdentifier, (PGconn * conn, const char* str, size_t len), (conn, str, len))
#undef F
