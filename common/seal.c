/* SPDX-License-Identifier: MIT */
/* Secrets at rest through libsodium: the root-only key file (checked, created atomically),
 * sealing under a subkey with the user name bound in, keyed hashes of backup codes,
 * argon2id password hashes, randomness, constant-time compare and wiping. The only file
 * that includes <sodium.h>. It never logs, never aborts, and never puts a secret into an
 * error or into static storage. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "seal.h"

#define SEAL_KDF_CONTEXT  "mlsecKEY"
#define SEAL_KDF_ID_SEAL  1
#define SEAL_KDF_ID_HASH  2
#define SEAL_KDF_ID_CHAIN 3
#define SEAL_AD_VERSION   0x01
#define SEAL_USER_MAX     256  /* longest user name bound into a seal or hash */
#define SEAL_CODE_MAX     256  /* longest backup code hashed */
#define SEAL_PASSWORD_MAX 4096 /* longest password hashed or checked */

_Static_assert(SEAL_KEY_BYTES == crypto_kdf_KEYBYTES, "master key size");
_Static_assert(SEAL_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "sealing key size");
_Static_assert(SEAL_HASH_BYTES == crypto_generichash_BYTES, "hash size");
_Static_assert(SEAL_OVERHEAD ==
                       crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "overhead");
_Static_assert(sizeof(SEAL_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");

struct seal_key {
        uint8_t seal[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
        uint8_t hash[crypto_generichash_KEYBYTES];
        uint8_t chain[crypto_generichash_KEYBYTES];
};

int seal_init(void)
{
        return sodium_init() < 0 ? -EIO : 0;
}

struct seal_key *seal_key_free(struct seal_key *k)
{
        if (!k)
                return NULL;
        sodium_memzero(k, sizeof(*k));
        free(k);
        return NULL;
}

static void close_keep_errno(int fd)
{
        int saved = errno;

        if (fd >= 0)
                (void)close(fd);
        errno = saved;
}

/* Read exactly LEN bytes; -EINVAL when the file is shorter than it claimed. */
static int read_full(int fd, uint8_t *buf, size_t len)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = read(fd, buf + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EINVAL;
                done += (size_t)n;
        }
        return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
        size_t done = 0;

        while (done < len) {
                ssize_t n = write(fd, buf + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                done += (size_t)n;
        }
        return 0;
}

/* Check an opened key file and read the master key from it into MASTER. */
static int key_read_fd(int fd, uint8_t master[SEAL_KEY_BYTES])
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & SEAL_KEY_FORBIDDEN_MODE) != 0)
                return -EPERM;
        if (st.st_size != SEAL_KEY_BYTES)
                return -EINVAL;
        return read_full(fd, master, SEAL_KEY_BYTES);
}

/* Open an existing key file (relative to DIRFD when it is not AT_FDCWD) and read it. */
static int key_read_at(int dirfd, const char *name, uint8_t master[SEAL_KEY_BYTES])
{
        /* O_NONBLOCK: a FIFO planted at the path must not hang the caller in open(). */
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
        int r;

        if (fd < 0)
                return -errno;
        r = key_read_fd(fd, master);
        (void)close(fd);
        return r;
}

/* Split PATH into its directory (a copy) and its last component. */
static int split_path(const char *path, char **ret_dir, const char **ret_base)
{
        const char *slash = strrchr(path, '/');
        char *dir;

        if (!slash) {
                dir = strdup(".");
                *ret_base = path;
        } else {
                dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
                *ret_base = slash + 1;
        }
        if (!dir)
                return -ENOMEM;
        if (**ret_base == '\0' || strcmp(*ret_base, ".") == 0 || strcmp(*ret_base, "..") == 0) {
                free(dir);
                return -EINVAL;
        }
        *ret_dir = dir;
        return 0;
}

/* Make DIR 0700 when it is missing (only the last component) and make that durable. */
static int ensure_dir(const char *dir)
{
        char *copy, *slash;
        int pfd, r = 0;

        if (mkdir(dir, 0700) < 0)
                return errno == EEXIST ? 0 : -errno;

        copy = strdup(dir);
        if (!copy)
                return -ENOMEM;
        slash = strrchr(copy, '/');
        if (!slash)
                strcpy(copy, ".");
        else if (slash == copy)
                slash[1] = '\0';
        else
                *slash = '\0';
        pfd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0 || fsync(pfd) < 0)
                r = -errno;
        close_keep_errno(pfd);
        free(copy);
        return r;
}

/* Put a complete file at DIRFD/BASE without ever replacing one that is already there:
 * link() refuses an existing name, so of two concurrent creators the first one wins. */
static int publish(int dirfd, const char *tmp, const char *base)
{
        int r = linkat(dirfd, tmp, dirfd, base, 0) < 0 ? -errno : 0;

        (void)unlinkat(dirfd, tmp, 0);
        return r;
}

/* Create the key file with fresh random bytes. 0 when we created it, -EEXIST when another
 * creator got there first (its file is complete: it was published the same way). */
static int key_create(const char *path)
{
        uint8_t master[SEAL_KEY_BYTES], rnd[8];
        char tmp[NAME_MAX + 1];
        const char *base;
        char *dir = NULL;
        int dirfd = -1, fd = -1, r;

        r = split_path(path, &dir, &base);
        if (r < 0)
                return r;
        r = ensure_dir(dir);
        if (r < 0)
                goto out;
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = -errno;
                goto out;
        }

        randombytes_buf(rnd, sizeof(rnd));
        r = snprintf(tmp, sizeof(tmp), ".%.200s.%02x%02x%02x%02x%02x%02x%02x%02x.tmp", base, rnd[0], rnd[1], rnd[2],
                     rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
        if (r < 0 || (size_t)r >= sizeof(tmp)) {
                r = -ENAMETOOLONG;
                goto out;
        }
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        randombytes_buf(master, sizeof(master));
        r = write_full(fd, master, sizeof(master));
        if (r < 0)
                goto out_unlink;
        /* fchmod: the umask may have narrowed 0600, but the owner must be able to read. */
        if (fchmod(fd, 0600) < 0 || fsync(fd) < 0) {
                r = -errno;
                goto out_unlink;
        }
        r = close(fd) < 0 ? -errno : 0;
        fd = -1;
        if (r < 0)
                goto out_unlink;
        r = publish(dirfd, tmp, base);
        if (r < 0)
                goto out;
        if (fsync(dirfd) < 0) {
                r = -errno;
                goto out;
        }
        r = 0;
        goto out;

out_unlink:
        close_keep_errno(fd);
        fd = -1;
        (void)unlinkat(dirfd, tmp, 0);
out:
        sodium_memzero(master, sizeof(master));
        close_keep_errno(fd);
        close_keep_errno(dirfd);
        free(dir);
        return r;
}

/* The subkeys live in ordinary heap memory, wiped on free. sodium_malloc's guard pages
 * would cost an mmap, two mprotects, an mlock and a TLB shoot-down on every login, and
 * the key lives for one PAM call. */
static int key_derive(const uint8_t *master, struct seal_key **ret)
{
        struct seal_key *k = calloc(1, sizeof(*k));

        if (!k)
                return -ENOMEM;
        if (crypto_kdf_derive_from_key(k->seal, sizeof(k->seal), SEAL_KDF_ID_SEAL, SEAL_KDF_CONTEXT, master) != 0 ||
            crypto_kdf_derive_from_key(k->hash, sizeof(k->hash), SEAL_KDF_ID_HASH, SEAL_KDF_CONTEXT, master) != 0 ||
            crypto_kdf_derive_from_key(k->chain, sizeof(k->chain), SEAL_KDF_ID_CHAIN, SEAL_KDF_CONTEXT, master) != 0) {
                seal_key_free(k);
                return -EIO;
        }
        *ret = k;
        return 0;
}

int seal_key_load(const char *path, bool create, struct seal_key **ret)
{
        uint8_t master[SEAL_KEY_BYTES];
        int r;

        if (!path || !*path || !ret)
                return -EINVAL;
        r = seal_init();
        if (r < 0)
                return r;

        r = key_read_at(AT_FDCWD, path, master);
        if (r == -ENOENT && create) {
                r = key_create(path);
                if (r >= 0 || r == -EEXIST)
                        r = key_read_at(AT_FDCWD, path, master);
        }
        if (r >= 0)
                r = key_derive(master, ret);

        sodium_memzero(master, sizeof(master));
        return r < 0 ? r : 0;
}

/* The associated data: a format version byte, then the user name. */
static int make_ad(const char *user, uint8_t ad[1 + SEAL_USER_MAX], size_t *ret_len)
{
        size_t n;

        if (!user)
                return -EINVAL;
        n = strnlen(user, SEAL_USER_MAX + 1);
        if (n == 0 || n > SEAL_USER_MAX)
                return -EINVAL;
        ad[0] = SEAL_AD_VERSION;
        memcpy(ad + 1, user, n);
        *ret_len = n + 1;
        return 0;
}

int seal_encrypt(const struct seal_key *k, const char *user, const uint8_t *plain, size_t len, uint8_t **ret,
                 size_t *ret_len)
{
        uint8_t ad[1 + SEAL_USER_MAX];
        unsigned long long clen;
        size_t adlen;
        uint8_t *blob;
        int r;

        if (!k || !ret || !ret_len || len > SEAL_SECRET_MAX || (len > 0 && !plain))
                return -EINVAL;
        r = make_ad(user, ad, &adlen);
        if (r < 0)
                return r;
        blob = malloc(len + SEAL_OVERHEAD);
        if (!blob)
                return -ENOMEM;

        randombytes_buf(blob, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
        if (crypto_aead_xchacha20poly1305_ietf_encrypt(blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
                                                       plain, len, ad, adlen, NULL, blob, k->seal) != 0 ||
            clen != len + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
                free(blob);
                return -EIO;
        }
        *ret = blob;
        *ret_len = len + SEAL_OVERHEAD;
        return 0;
}

int seal_decrypt(const struct seal_key *k, const char *user, const uint8_t *blob, size_t blob_len, uint8_t *out,
                 size_t outmax, size_t *ret_len)
{
        uint8_t ad[1 + SEAL_USER_MAX], plain[SEAL_SECRET_MAX];
        unsigned long long mlen;
        size_t adlen, want;
        int r;

        if (!k || !blob || !ret_len || blob_len < SEAL_OVERHEAD)
                return -EINVAL;
        want = blob_len - SEAL_OVERHEAD;
        if (want > SEAL_SECRET_MAX || outmax < want || (want > 0 && !out))
                return -EINVAL;
        r = make_ad(user, ad, &adlen);
        if (r < 0)
                return r;

        /* Open into our own buffer so OUT is untouched when the blob is refused. */
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                    plain, &mlen, NULL, blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                    blob_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad, adlen, blob, k->seal) != 0) {
                r = -EBADMSG;
                goto out;
        }
        if (mlen != want) {
                r = -EIO;
                goto out;
        }
        if (want > 0)
                memcpy(out, plain, want);
        *ret_len = want;
        r = 0;
out:
        sodium_memzero(plain, sizeof(plain));
        return r;
}

int seal_hash_code(const struct seal_key *k, const char *user, const char *code, uint8_t ret[SEAL_HASH_BYTES])
{
        crypto_generichash_state st;
        uint8_t h[SEAL_HASH_BYTES];
        const uint8_t sep = 0;
        size_t ulen, clen;
        int r = -EIO;

        if (!k || !user || !code || !ret)
                return -EINVAL;
        ulen = strnlen(user, SEAL_USER_MAX + 1);
        clen = strnlen(code, SEAL_CODE_MAX + 1);
        if (ulen == 0 || ulen > SEAL_USER_MAX || clen > SEAL_CODE_MAX)
                return -EINVAL;

        /* The NUL separator keeps ("ab", "1") and ("a", "b1") apart: user names hold no NUL. */
        if (crypto_generichash_init(&st, k->hash, sizeof(k->hash), sizeof(h)) != 0 ||
            crypto_generichash_update(&st, (const uint8_t *)user, ulen) != 0 ||
            crypto_generichash_update(&st, &sep, 1) != 0 ||
            crypto_generichash_update(&st, (const uint8_t *)code, clen) != 0 ||
            crypto_generichash_final(&st, h, sizeof(h)) != 0)
                goto out;
        memcpy(ret, h, sizeof(h));
        r = 0;
out:
        sodium_memzero(&st, sizeof(st));
        sodium_memzero(h, sizeof(h));
        return r;
}

int seal_chain_hash(const struct seal_key *k, const uint8_t prev[SEAL_HASH_BYTES], const void *data, size_t len,
                    uint8_t ret[SEAL_HASH_BYTES])
{
        crypto_generichash_state st;
        uint8_t h[SEAL_HASH_BYTES];
        int r = -EIO;

        if (!k || !prev || (!data && len) || !ret)
                return -EINVAL;
        if (crypto_generichash_init(&st, k->chain, sizeof(k->chain), sizeof(h)) != 0 ||
            crypto_generichash_update(&st, prev, SEAL_HASH_BYTES) != 0 ||
            crypto_generichash_update(&st, data, len) != 0 || crypto_generichash_final(&st, h, sizeof(h)) != 0)
                goto out;
        memcpy(ret, h, sizeof(h));
        r = 0;
out:
        sodium_memzero(&st, sizeof(st));
        return r;
}

int seal_password_hash(const char *password, char *ret, size_t retlen)
{
        char h[crypto_pwhash_STRBYTES];
        size_t plen;
        int r;

        if (!password || !ret)
                return -EINVAL;
        if (retlen < crypto_pwhash_STRBYTES)
                return -ENOBUFS;
        plen = strnlen(password, SEAL_PASSWORD_MAX + 1);
        if (plen > SEAL_PASSWORD_MAX)
                return -EINVAL;
        r = seal_init();
        if (r < 0)
                return r;
        if (crypto_pwhash_str_alg(h, password, plen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
                sodium_memzero(h, sizeof(h));
                return -ENOMEM; /* the only way argon2id fails with valid parameters */
        }
        memcpy(ret, h, sizeof(h));
        sodium_memzero(h, sizeof(h));
        return 0;
}

int seal_password_check(const char *hash, const char *password, bool *ret_match)
{
        size_t hlen, plen;
        int r;

        if (!hash || !password || !ret_match)
                return -EINVAL;
        hlen = strnlen(hash, crypto_pwhash_STRBYTES);
        plen = strnlen(password, SEAL_PASSWORD_MAX + 1);
        if (hlen == crypto_pwhash_STRBYTES || plen > SEAL_PASSWORD_MAX)
                return -EINVAL;
        if (strncmp(hash, crypto_pwhash_argon2id_STRPREFIX, strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0 &&
            strncmp(hash, crypto_pwhash_argon2i_STRPREFIX, strlen(crypto_pwhash_argon2i_STRPREFIX)) != 0)
                return -EINVAL;
        r = seal_init();
        if (r < 0)
                return r;

        /* libsodium answers -1 for both "no match" (errno EINVAL) and "could not check". */
        errno = 0;
        if (crypto_pwhash_str_verify(hash, password, plen) == 0) {
                *ret_match = true;
                return 0;
        }
        if (errno == EINVAL) {
                *ret_match = false;
                return 0;
        }
        if (errno == ENOMEM)
                return -ENOMEM;
        return errno == 0 ? -EINVAL : -EIO;
}

void seal_random(void *buf, size_t len)
{
        /* randombytes_* initialise themselves; sodium_init() is not needed first. */
        if (!buf || len == 0)
                return;
        randombytes_buf(buf, len);
}

uint32_t seal_random_uniform(uint32_t upper_bound)
{
        return randombytes_uniform(upper_bound);
}

bool seal_equal(const void *a, const void *b, size_t len)
{
        if (len == 0)
                return true;
        if (!a || !b)
                return false;
        return sodium_memcmp(a, b, len) == 0;
}

void *seal_secure_alloc(size_t len)
{
        void *p;

        if (len == 0 || sodium_init() < 0)
                return NULL;
        p = sodium_malloc(len);
        if (p)
                sodium_memzero(p, len);
        return p;
}

void seal_secure_free(void *p)
{
        sodium_free(p); /* wipes, and accepts NULL */
}

void seal_wipe(void *buf, size_t len)
{
        if (buf && len > 0)
                sodium_memzero(buf, len);
}

char *seal_wipe_free_str(char *s)
{
        if (!s)
                return NULL;
        sodium_memzero(s, strlen(s));
        free(s);
        return NULL;
}
