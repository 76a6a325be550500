/* SPDX-License-Identifier: MIT */
/* The credential store of the fleet (store_spi.c): common/store.h's functions over SPI,
 * for one API call by HOST (session_user). */
#pragma once

#include "store.h"

struct store *store_spi_new(const char *host);
struct store *store_spi_free(struct store *s);
/* What made the store fail (a statement's message), or NULL. */
const char *store_spi_error(const struct store *s);
