// libsqlite3, loaded on first use: only spells that keep state or call a model open a
// database, and loading the library (1,600 relocations) was paid by every start-up. See
// lazy_library.hpp. The functions are the ones the state store and the call log call, and
// their close relatives.
#include <sqlite3.h>

#include "llmspell/core/lazy_library.hpp"

namespace {
void* sqlite(const char* name) {
  static void* lib = llmspell::lazy::library("libsqlite3.so.0", "libsqlite3-0");
  return llmspell::lazy::symbol(lib, "libsqlite3.so.0", name);
}
}  // namespace

#define F(ret, name, params, args) LLMSPELL_LAZY_FORWARD(sqlite, ret, name, params, args)
F(int, sqlite3_open, (const char* path, sqlite3** db), (path, db))
F(int, sqlite3_open_v2, (const char* path, sqlite3** db, int flags, const char* vfs), (path, db, flags, vfs))
F(int, sqlite3_close, (sqlite3 * db), (db))
F(int, sqlite3_close_v2, (sqlite3 * db), (db))
F(int, sqlite3_exec, (sqlite3 * db, const char* sql, int (*cb)(void*, int, char**, char**), void* arg, char** err),
  (db, sql, cb, arg, err))
F(int, sqlite3_busy_timeout, (sqlite3 * db, int ms), (db, ms))
F(int, sqlite3_busy_handler, (sqlite3 * db, int (*fn)(void*, int), void* arg), (db, fn, arg))
F(const char*, sqlite3_errmsg, (sqlite3 * db), (db))
F(int, sqlite3_errcode, (sqlite3 * db), (db))
F(int, sqlite3_extended_errcode, (sqlite3 * db), (db))
F(const char*, sqlite3_errstr, (int code), (code))
F(int, sqlite3_changes, (sqlite3 * db), (db))
F(sqlite3_int64, sqlite3_last_insert_rowid, (sqlite3 * db), (db))
F(int, sqlite3_get_autocommit, (sqlite3 * db), (db))
F(void, sqlite3_free, (void* p), (p))
F(int, sqlite3_prepare_v2, (sqlite3 * db, const char* sql, int n, sqlite3_stmt** stmt, const char** tail),
  (db, sql, n, stmt, tail))
F(int, sqlite3_prepare_v3,
  (sqlite3 * db, const char* sql, int n, unsigned int flags, sqlite3_stmt** stmt, const char** tail),
  (db, sql, n, flags, stmt, tail))
F(int, sqlite3_step, (sqlite3_stmt * s), (s))
F(int, sqlite3_reset, (sqlite3_stmt * s), (s))
F(int, sqlite3_finalize, (sqlite3_stmt * s), (s))
F(int, sqlite3_clear_bindings, (sqlite3_stmt * s), (s))
F(int, sqlite3_bind_null, (sqlite3_stmt * s, int i), (s, i))
F(int, sqlite3_bind_int, (sqlite3_stmt * s, int i, int v), (s, i, v))
F(int, sqlite3_bind_int64, (sqlite3_stmt * s, int i, sqlite3_int64 v), (s, i, v))
F(int, sqlite3_bind_double, (sqlite3_stmt * s, int i, double v), (s, i, v))
F(int, sqlite3_bind_text, (sqlite3_stmt * s, int i, const char* v, int n, void (*d)(void*)), (s, i, v, n, d))
F(int, sqlite3_bind_blob, (sqlite3_stmt * s, int i, const void* v, int n, void (*d)(void*)), (s, i, v, n, d))
F(int, sqlite3_bind_parameter_count, (sqlite3_stmt * s), (s))
F(int, sqlite3_column_count, (sqlite3_stmt * s), (s))
F(int, sqlite3_column_type, (sqlite3_stmt * s, int i), (s, i))
F(sqlite3_int64, sqlite3_column_int64, (sqlite3_stmt * s, int i), (s, i))
F(int, sqlite3_column_int, (sqlite3_stmt * s, int i), (s, i))
F(double, sqlite3_column_double, (sqlite3_stmt * s, int i), (s, i))
F(const unsigned char*, sqlite3_column_text, (sqlite3_stmt * s, int i), (s, i))
F(const void*, sqlite3_column_blob, (sqlite3_stmt * s, int i), (s, i))
F(int, sqlite3_column_bytes, (sqlite3_stmt * s, int i), (s, i))
F(const char*, sqlite3_column_name, (sqlite3_stmt * s, int i), (s, i))
F(int, sqlite3_wal_checkpoint_v2, (sqlite3 * db, const char* name, int mode, int* log, int* ckpt),
  (db, name, mode, log, ckpt))
#undef F
