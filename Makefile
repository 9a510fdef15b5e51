# hybridcache: PGXS build and test wiring.
#
#   make && sudo make install         build and install
#   make installcheck                 regression, isolation and TAP tests,
#                                     each on its own temporary server
#                                     (run as a non-root user)

EXTENSION  = hybridcache
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)
MODULE_big = $(EXTENSION)
OBJS = \
	src/hybridcache.o \
	src/guc.o \
	src/executor_hooks.o \
	src/eligibility.o \
	src/key_ranges.o \
	src/fingerprint.o \
	src/key_hash.o \
	src/plan_hash.o \
	src/plan_reuse.o \
	src/plan_stub.o \
	src/result.o \
	src/wire_rows.o \
	src/l1_store.o \
	src/invalidation.o \
	src/stats.o \
	src/query_stats.o \
	src/warming.o \
	src/explain.o \
	src/l2_redis.o \
	src/worker.o
PGFILEDESC = "hybridcache - query result cache"
PG_CPPFLAGS += -DHYBRIDCACHE_VERSION=\"$(EXTVERSION)\"

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

SHLIB_LINK += $(or $(shell pkg-config --libs hiredis 2>/dev/null),-lhiredis)

# pg_regress: inputs in test/sql, expected outputs in ./expected
REGRESS := $(patsubst test/sql/%.sql,%,$(sort $(wildcard test/sql/*.sql)))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION) \
	--temp-instance=./tmp_regress --temp-config=test/hybridcache.conf

# isolation specs in test/specs, expected outputs also in ./expected
ISOLATION := $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --outputdir=. --load-extension=$(EXTENSION) \
	--temp-instance=./tmp_isolation --temp-config=test/hybridcache.conf

# TAP tests start their own servers
TAP_TESTS   = 1
PROVE_TESTS := $(sort $(wildcard test/t/*.pl))

EXTRA_CLEAN = tmp_regress tmp_isolation

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every module includes the shared header
$(OBJS): src/hybridcache.h
