/* SPDX-License-Identifier: MIT */
/* The credential store of the fleet (store_spi.c): common/store.h's functions over SPI,
 * for one API call by HOST (session_user). */
#pragma once

#include "store.h"

struct store *store_spi_new(const char *host);
struct store *store_spi_free(struct store *s);
/* SPI_execute_plan of SQL (a string literal) with a plan prepared once per backend and
 * kept; an SPI result code (< 0: failed). Never read-only (each statement sees the
 * function's own writes). Raises ERROR like SPI does. */
#include "postgres.h"
#include "executor/spi.h"
int store_spi_execute(const char *sql, int n, Oid *types, Datum *values, const char *nulls);

/* What made the store fail (a statement's message), or NULL. */
const char *store_spi_error(const struct store *s);
