# SPDX-License-Identifier: MIT
# mlsec build. `make` builds build/pam_mlsec.so and build/mlsecctl; `make check` installs
# what is missing, builds and runs every test; `make demo` shows a real login.

BUILD ?= build
ifeq ($(SANITIZE),1)
BUILD := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT := -O1
else
SANFLAGS :=
OPT := -O2
endif

CC ?= cc
PKGS := libsodium liboath sqlite3 json-c libqrencode libsystemd pwquality libmaxminddb libpq
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

WARN := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wpointer-arith -Wmissing-prototypes \
	-Wstrict-prototypes -Wno-unused-parameter
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fstack-clash-protection -fcf-protection
override CFLAGS += -std=gnu11 $(OPT) -g $(WARN) $(HARDEN) $(SANFLAGS) -Icommon $(PKG_CFLAGS)
RELRO := -Wl,-z,relro,-z,now -Wl,-z,noexecstack -Wl,--as-needed
override LDFLAGS += $(RELRO) $(SANFLAGS)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libmlsec.a

PAM_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard pam_mlsec/*.c))
CTL_SRC := mlsecd/mlsecctl.c mlsecd/ctl_activity.c mlsecd/ctl_mfa.c mlsecd/ctl_admin.c mlsecd/ctl_password.c mlsecd/ctl_table.c mlsecd/ctl_import.c mlsecd/ctl_alerts.c mlsecd/ctl_spool.c mlsecd/ctl_grants.c mlsecd/ctl_check.c mlsecd/ctl_check_pam.c mlsecd/ctl_fleet.c mlsecd/qr.c
CTL_OBJ := $(CTL_SRC:%.c=$(BUILD)/obj/%.o)
# the daemon: every mlsecd/ file but the command line's
D_SRC := $(filter-out $(CTL_SRC),$(wildcard mlsecd/*.c))
D_OBJ := $(D_SRC:%.c=$(BUILD)/obj/%.o)
D_LIB_OBJ := $(filter-out $(BUILD)/obj/mlsecd/main.o,$(D_OBJ))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
ITEST_BIN := $(BUILD)/tests/pamdrive $(BUILD)/tests/powercut.so $(if $(wildcard mlsecd/main.c),$(BUILD)/tests/reporter)
BENCH_BIN := $(BUILD)/tests/pam_bench $(BUILD)/tests/bench_setup $(BUILD)/tests/store_floor \
	$(BUILD)/tests/mlsecd_bench $(BUILD)/tests/activity_bench

# The fleet's PostgreSQL extension: the same rules (verify, enroll, totp, seal) linked with
# the store over SPI (pgext/store_spi.c), built when the server headers are installed.
PG_CONFIG ?= pg_config
PG_INCLUDE := $(shell $(PG_CONFIG) --includedir-server 2>/dev/null)
PG_PKGLIBDIR := $(shell $(PG_CONFIG) --pkglibdir 2>/dev/null)
PGEXT := $(if $(wildcard $(PG_INCLUDE)/postgres.h),$(BUILD)/mlsec_fleet.so)
PGEXT_COMMON := verify enroll totp seal backup conf source util event
# its own objects, never sanitized: the postgres server that loads it has no sanitizer runtime
PGEXT_OBJ := $(BUILD)/pgobj/pgext/mlsec_fleet.o $(BUILD)/pgobj/pgext/store_spi.o \
	$(PGEXT_COMMON:%=$(BUILD)/pgobj/common/%.o)
PGEXT_CFLAGS = -std=gnu11 -O2 -g $(WARN) $(HARDEN) -fPIC -Icommon $(PKG_CFLAGS)

.PHONY: all deps check check-unit check-integration check-e2e demo bench bench-fleet fuzz format clean install uninstall
all: $(BUILD)/pam_mlsec.so $(BUILD)/mlsecctl $(if $(wildcard mlsecd/main.c),$(BUILD)/mlsecd) $(PGEXT)

$(BUILD)/obj/%.o: %.c $(wildcard common/*.h mlsecd/*.h pam_mlsec/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

# the server's headers are not ours to warn about
$(BUILD)/pgobj/pgext/%.o: pgext/%.c pgext/store_spi.h $(wildcard common/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(PGEXT_CFLAGS) -Wno-missing-prototypes -isystem $(PG_INCLUDE) -c $< -o $@

$(BUILD)/pgobj/common/%.o: common/%.c $(wildcard common/*.h) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(PGEXT_CFLAGS) -c $< -o $@

$(BUILD)/mlsec_fleet.so: $(PGEXT_OBJ)
	$(CC) -shared -o $@ $^ $(RELRO) $(shell pkg-config --libs libsodium liboath) -lm

$(LIB): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/pam_mlsec.so: $(PAM_OBJ) $(LIB) pam_mlsec/pam_mlsec.map
	$(CC) -shared -o $@ $(PAM_OBJ) $(LIB) $(LDFLAGS) -Wl,--version-script=pam_mlsec/pam_mlsec.map -Wl,-z,nodelete \
		-Wl,--no-undefined $(PKG_LIBS) -lpam

# the fleet's schema, built into mlsecctl (admin fleet init) from pgext/schema_v1.sql
$(BUILD)/obj/fleet_schema.c: pgext/schema_v1.sql
	@mkdir -p $(dir $@)
	{ echo '/* generated from pgext/schema_v1.sql */'; echo 'extern const char fleet_schema_v1_sql[];'; \
	  echo 'const char fleet_schema_v1_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ';'; } >$@

$(BUILD)/obj/fleet_schema.o: $(BUILD)/obj/fleet_schema.c
	$(CC) $(CFLAGS) -fPIC -c $< -o $@

$(BUILD)/obj/mlsecd/ctl_fleet.o: override CFLAGS += -DMLSEC_PGEXT_PATH='"$(PG_PKGLIBDIR)/mlsec_fleet.so"'

$(BUILD)/mlsecctl: $(CTL_OBJ) $(BUILD)/obj/fleet_schema.o $(LIB)
	$(CC) -pie -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lpam

$(BUILD)/mlsecd: $(D_OBJ) $(LIB)
	$(CC) -pie -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/tests/test_qr: tests/unit/test_qr.c $(BUILD)/obj/mlsecd/qr.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -Imlsecd -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lcmocka

# unit tests of a daemon file link that file's object
$(BUILD)/tests/test_activity $(BUILD)/tests/test_logind $(BUILD)/tests/test_journal $(BUILD)/tests/test_ctl_table: \
		$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/obj/mlsecd/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -Imlsecd -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lcmocka

# the rules ask activity.db: their test links both
$(BUILD)/tests/test_rules: tests/unit/test_rules.c $(BUILD)/obj/mlsecd/rules.o $(BUILD)/obj/mlsecd/activity.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -Imlsecd -o $@ $^ $(LDFLAGS) $(PKG_LIBS) -lcmocka

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -Imlsecd -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -lcmocka -lpam

# an LD_PRELOAD library of test_durability.sh: what a power loss leaves (never sanitized: it
# is loaded before the sanitizer's runtime)
$(BUILD)/tests/powercut.so: tests/integration/powercut.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) $(HARDEN) -fPIC -shared -o $@ $< $(RELRO) -ldl

$(BUILD)/tests/pamdrive: tests/integration/pamdrive.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LDFLAGS) -lpam

$(BUILD)/tests/reporter: tests/integration/reporter.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/tests/activity_bench: tests/bench/activity_bench.c $(BUILD)/obj/mlsecd/activity.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -Imlsecd -o $@ $^ $(LDFLAGS) $(PKG_LIBS)

$(BUILD)/tests/%: tests/bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIB) $(LDFLAGS) $(PKG_LIBS) -lpam

# libFuzzer harnesses: clang, ASan+UBSan, the common/ sources compiled in.
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(COMMON_SRC) $(wildcard common/*.h)
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icommon $(PKG_CFLAGS) \
		-o $@ $< $(COMMON_SRC) $(PKG_LIBS)

fuzz: deps
	@BUILD=$(BUILD) FUZZ_SECONDS=$${FUZZ_SECONDS:-120} tests/run.sh fuzz

deps:
	@./scripts/install-deps.sh

check: deps
	$(MAKE) all tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh

.PHONY: tests
tests: $(UNIT_BIN) $(ITEST_BIN)

check-unit: all tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh unit

check-integration: all tests
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh integration

# the end-to-end suite: a Debian container (systemd-nspawn) with mlsec installed; root only,
# one skip line where the machine cannot run it (tests/e2e/run.sh says why)
check-e2e: deps
	$(MAKE) all
	@BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run.sh e2e

demo: deps
	$(MAKE) all tests
	@BUILD=$(BUILD) tests/demo.sh

bench: deps
	$(MAKE) all tests $(BENCH_BIN)
	@BUILD=$(BUILD) tests/bench/run.sh
	@BUILD=$(BUILD) tests/bench/fleet.sh

# fleet mode alone: logins against a PostgreSQL started for it (tests/bench/fleet.sh)
bench-fleet: deps
	$(MAKE) all tests $(BUILD)/tests/pam_bench
	@BUILD=$(BUILD) tests/bench/fleet.sh

# Installation. PAM modules go where libpam looks for them, whatever PREFIX says; so do the
# files that systemd and pam-auth-update read (units, tmpfiles, sysusers, pam-configs).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
PAMDIR ?= /usr/lib/$(MULTIARCH)/security
TMPFILESDIR ?= /usr/lib/tmpfiles.d
SYSUSERSDIR ?= /usr/lib/sysusers.d
PAMCONFIGDIR ?= /usr/share/pam-configs
COMPLETIONDIR ?= /usr/share/bash-completion/completions
UNITDIR ?= /usr/lib/systemd/system
MANDIR ?= $(PREFIX)/share/man

# every file install puts (the configuration and /var/lib/mlsec aside): uninstall removes these
INSTALLED := $(PAMDIR)/pam_mlsec.so $(PREFIX)/bin/mlsecctl $(PREFIX)/sbin/mlsecd \
	$(MANDIR)/man1/mlsecctl.1 $(MANDIR)/man5/mlsec.conf.5 $(MANDIR)/man8/mlsecd.8 $(MANDIR)/man8/pam_mlsec.8 \
	$(COMPLETIONDIR)/mlsecctl $(TMPFILESDIR)/mlsec.conf $(SYSUSERSDIR)/mlsec.conf $(PAMCONFIGDIR)/mlsec $(PAMCONFIGDIR)/mlsec-preauth $(PAMCONFIGDIR)/mlsec-authfail \
	$(UNITDIR)/mlsecd.service $(UNITDIR)/mlsecd.socket $(PREFIX)/share/mlsec/mlsecd-fleet.conf \
	$(if $(PGEXT),$(PG_PKGLIBDIR)/mlsec_fleet.so)

install: all
	install -D -m 0644 $(BUILD)/pam_mlsec.so $(DESTDIR)$(PAMDIR)/pam_mlsec.so
	install -D -m 0755 $(BUILD)/mlsecctl $(DESTDIR)$(PREFIX)/bin/mlsecctl
	install -D -m 0755 $(BUILD)/mlsecd $(DESTDIR)$(PREFIX)/sbin/mlsecd
	@# the fleet's extension, where PostgreSQL loads libraries from (built only with the server headers)
	$(if $(PGEXT),install -D -m 0644 $(PGEXT) $(DESTDIR)$(PG_PKGLIBDIR)/mlsec_fleet.so)
	install -D -m 0644 man/mlsecctl.1 $(DESTDIR)$(MANDIR)/man1/mlsecctl.1
	install -D -m 0644 man/mlsec.conf.5 $(DESTDIR)$(MANDIR)/man5/mlsec.conf.5
	install -D -m 0644 man/mlsecd.8 $(DESTDIR)$(MANDIR)/man8/mlsecd.8
	install -D -m 0644 man/pam_mlsec.8 $(DESTDIR)$(MANDIR)/man8/pam_mlsec.8
	install -D -m 0644 conf/mlsecctl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/mlsecctl
	install -D -m 0644 systemd/mlsec.tmpfiles $(DESTDIR)$(TMPFILESDIR)/mlsec.conf
	@# fleet mode's drop-in for mlsecd.service (network to the database), installed by the administrator
	install -D -m 0644 systemd/mlsecd-fleet.conf $(DESTDIR)$(PREFIX)/share/mlsec/mlsecd-fleet.conf
	install -D -m 0644 systemd/mlsec.sysusers $(DESTDIR)$(SYSUSERSDIR)/mlsec.conf
	@# a profile only: `pam-auth-update --enable mlsec` is the administrator's step (INSTALL)
	install -D -m 0644 conf/pam-configs/mlsec $(DESTDIR)$(PAMCONFIGDIR)/mlsec
	install -D -m 0644 conf/pam-configs/mlsec-preauth $(DESTDIR)$(PAMCONFIGDIR)/mlsec-preauth
	install -D -m 0644 conf/pam-configs/mlsec-authfail $(DESTDIR)$(PAMCONFIGDIR)/mlsec-authfail
	@# the units name /usr/sbin/mlsecd; another PREFIX gets its own path in them
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|/usr/sbin/mlsecd|$(PREFIX)/sbin/mlsecd|g' systemd/mlsecd.service >$(DESTDIR)$(UNITDIR)/mlsecd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mlsecd.service
	install -m 0644 systemd/mlsecd.socket $(DESTDIR)$(UNITDIR)/mlsecd.socket
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/mlsec
	@# never overwrite an administrator's configuration
	[ -e $(DESTDIR)$(SYSCONFDIR)/mlsec/mlsec.conf ] || \
		install -m 0644 conf/mlsec.conf $(DESTDIR)$(SYSCONFDIR)/mlsec/mlsec.conf
	install -d -m 0700 $(DESTDIR)/var/lib/mlsec

# Removing the module while a PAM file still names it would refuse every login that file
# serves (a missing "required" module fails the stack): uninstall refuses, and says which.
uninstall:
	@users=$$(grep -ls '^[^#]*pam_mlsec\.so' $(DESTDIR)$(SYSCONFDIR)/pam.d/* 2>/dev/null); \
	if [ -n "$$users" ]; then \
		echo "uninstall: pam_mlsec.so is still used by:" $$users >&2; \
		echo "uninstall: run 'pam-auth-update --remove mlsec mlsec-preauth mlsec-authfail' and remove the pam_mlsec lines first" >&2; \
		exit 1; \
	fi
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	@echo "left in place: $(SYSCONFDIR)/mlsec (configuration, key) and /var/lib/mlsec (credentials, activity)"

format:
	clang-format -i common/*.[ch] pam_mlsec/*.c mlsecd/*.[ch] tests/unit/*.[ch] tests/integration/*.c tests/bench/*.c

clean:
	rm -rf build
