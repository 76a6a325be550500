/* SPDX-License-Identifier: MIT */
/* Unit tests of common/seal.c: the key file's creation, checks and atomic publication,
 * sealing bound to the key and the user, tamper detection, keyed backup-code hashes,
 * argon2id password hashes and the small helpers. Works only inside its own temp dir. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>

#include "seal.h"

struct fixture {
        char dir[64];
        char key[PATH_MAX];
};

static int setup(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        if (!f || seal_init() < 0)
                return -1;
        strcpy(f->dir, "/tmp/test_seal.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        snprintf(f->key, sizeof(f->key), "%s/sub/seal.key", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        char cmd[PATH_MAX + 16];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                return -1;
        free(f);
        return 0;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

static struct seal_key *load_ok(const char *path, bool create)
{
        struct seal_key *k = NULL;

        assert_int_equal(seal_key_load(path, create, &k), 0);
        assert_non_null(k);
        return k;
}

static void test_key_create_and_reload(void **state)
{
        struct fixture *f = *state;
        struct seal_key *k1, *k2, *k = (struct seal_key *)0x1;
        const uint8_t secret[] = "JBSWY3DPEHPK3PXP-secret-bytes";
        uint8_t *blob = NULL, out[SEAL_SECRET_MAX];
        char sub[PATH_MAX];
        size_t blob_len = 0, n = 0;
        struct stat st;
        DIR *d;
        struct dirent *de;
        int entries = 0;

        /* Missing and not asked to create: -ENOENT, nothing created, ret untouched. */
        assert_int_equal(seal_key_load(f->key, false, &k), -ENOENT);
        assert_ptr_equal(k, (struct seal_key *)0x1);
        snprintf(sub, sizeof(sub), "%s/sub", f->dir);
        assert_int_equal(stat(sub, &st), -1);

        umask(022);
        k1 = load_ok(f->key, true);
        assert_int_equal(stat(sub, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_int_equal(lstat(f->key, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_size, SEAL_KEY_BYTES);
        assert_int_equal(st.st_uid, geteuid());

        /* No temporary file left behind. */
        d = opendir(sub);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        assert_string_equal(de->d_name, "seal.key");
                        entries++;
                }
        closedir(d);
        assert_int_equal(entries, 1);

        /* A second load (create=true or not) reads the same key: sealed by one, opened by the other. */
        k2 = load_ok(f->key, false);
        assert_int_equal(seal_encrypt(k1, "alice", secret, sizeof(secret), &blob, &blob_len), 0);
        assert_int_equal(blob_len, sizeof(secret) + SEAL_OVERHEAD);
        assert_int_equal(seal_decrypt(k2, "alice", blob, blob_len, out, sizeof(out), &n), 0);
        assert_int_equal(n, sizeof(secret));
        assert_memory_equal(out, secret, n);
        free(blob);
        k2 = seal_key_free(k2);
        assert_null(k2);

        k2 = load_ok(f->key, true);
        assert_int_equal(seal_encrypt(k2, "alice", secret, sizeof(secret), &blob, &blob_len), 0);
        assert_int_equal(seal_decrypt(k1, "alice", blob, blob_len, out, sizeof(out), &n), 0);
        assert_memory_equal(out, secret, sizeof(secret));
        free(blob);

        seal_key_free(k1);
        seal_key_free(k2);
        assert_null(seal_key_free(NULL));
}

static void test_key_concurrent_create(void **state)
{
        struct fixture *f = *state;
        enum { N = 8 };
        uint8_t blobs[N][16 + SEAL_OVERHEAD];
        int fds[N][2];
        pid_t pids[N];
        struct seal_key *k;

        /* N processes race to create the same key; all must end up with one key. */
        for (int i = 0; i < N; i++) {
                assert_int_equal(pipe(fds[i]), 0);
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        struct seal_key *ck = NULL;
                        uint8_t plain[16], *b = NULL;
                        size_t bl = 0;

                        memset(plain, 'A' + i, sizeof(plain));
                        if (seal_key_load(f->key, true, &ck) < 0 ||
                            seal_encrypt(ck, "bob", plain, sizeof(plain), &b, &bl) < 0 || bl != sizeof(blobs[0]) ||
                            write(fds[i][1], b, bl) != (ssize_t)bl)
                                _exit(1);
                        _exit(0);
                }
                close(fds[i][1]);
        }
        for (int i = 0; i < N; i++) {
                int status;

                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
                assert_int_equal(read(fds[i][0], blobs[i], sizeof(blobs[i])), (ssize_t)sizeof(blobs[i]));
                close(fds[i][0]);
        }
        k = load_ok(f->key, false);
        for (int i = 0; i < N; i++) {
                uint8_t out[16], want[16];
                size_t n = 0;

                memset(want, 'A' + i, sizeof(want));
                assert_int_equal(seal_decrypt(k, "bob", blobs[i], sizeof(blobs[i]), out, sizeof(out), &n), 0);
                assert_int_equal(n, sizeof(out));
                assert_memory_equal(out, want, sizeof(want));
        }
        seal_key_free(k);
}

static void test_seal_tamper_and_user(void **state)
{
        struct fixture *f = *state;
        struct seal_key *k = load_ok(f->key, true);
        const uint8_t secret[20] = "0123456789abcdefghij";
        uint8_t *blob = NULL, *blob2 = NULL, out[SEAL_SECRET_MAX];
        size_t blob_len = 0, blob2_len = 0, n;

        assert_int_equal(seal_encrypt(k, "carol", secret, sizeof(secret), &blob, &blob_len), 0);
        assert_int_equal(blob_len, sizeof(secret) + SEAL_OVERHEAD);
        /* Random nonce: sealing twice gives different blobs, neither contains the plaintext. */
        assert_int_equal(seal_encrypt(k, "carol", secret, sizeof(secret), &blob2, &blob2_len), 0);
        assert_int_equal(blob2_len, blob_len);
        assert_memory_not_equal(blob, blob2, blob_len);
        for (size_t i = 0; i + 8 <= blob_len; i++)
                assert_memory_not_equal(blob + i, secret, 8);

        /* Every single bit flip, anywhere in nonce, ciphertext or tag: refused, OUT untouched. */
        for (size_t i = 0; i < blob_len; i++) {
                for (unsigned bit = 0; bit < 8; bit++) {
                        n = 999;
                        memset(out, 0x5c, sizeof(out));
                        blob[i] ^= (uint8_t)(1u << bit);
                        assert_int_equal(seal_decrypt(k, "carol", blob, blob_len, out, sizeof(out), &n), -EBADMSG);
                        blob[i] ^= (uint8_t)(1u << bit);
                        assert_int_equal(n, 999);
                        assert_int_equal(out[0], 0x5c);
                }
        }
        /* Untampered still opens. */
        assert_int_equal(seal_decrypt(k, "carol", blob, blob_len, out, sizeof(out), &n), 0);
        assert_memory_equal(out, secret, sizeof(secret));

        /* Another user (including a prefix or an extension of the name) cannot open it. */
        assert_int_equal(seal_decrypt(k, "dave", blob, blob_len, out, sizeof(out), &n), -EBADMSG);
        assert_int_equal(seal_decrypt(k, "caro", blob, blob_len, out, sizeof(out), &n), -EBADMSG);
        assert_int_equal(seal_decrypt(k, "carol2", blob, blob_len, out, sizeof(out), &n), -EBADMSG);

        /* Truncated / extended blobs. */
        assert_int_equal(seal_decrypt(k, "carol", blob, blob_len - 1, out, sizeof(out), &n), -EBADMSG);
        assert_int_equal(seal_decrypt(k, "carol", blob, SEAL_OVERHEAD - 1, out, sizeof(out), &n), -EINVAL);
        assert_int_equal(seal_decrypt(k, "carol", blob, 0, out, sizeof(out), &n), -EINVAL);
        /* Output too small. */
        assert_int_equal(seal_decrypt(k, "carol", blob, blob_len, out, sizeof(secret) - 1, &n), -EINVAL);
        assert_int_equal(seal_decrypt(k, "carol", blob, blob_len, out, sizeof(secret), &n), 0);
        assert_int_equal(n, sizeof(secret));

        free(blob);
        free(blob2);
        seal_key_free(k);
}

static void test_seal_other_key(void **state)
{
        struct fixture *f = *state;
        char other[PATH_MAX];
        struct seal_key *k1 = load_ok(f->key, true), *k2;
        const uint8_t secret[] = "s3cr3t";
        uint8_t *blob = NULL, out[SEAL_SECRET_MAX];
        size_t blob_len = 0, n = 0;

        snprintf(other, sizeof(other), "%s/other.key", f->dir);
        k2 = load_ok(other, true);
        assert_int_equal(seal_encrypt(k1, "erin", secret, sizeof(secret), &blob, &blob_len), 0);
        assert_int_equal(seal_decrypt(k2, "erin", blob, blob_len, out, sizeof(out), &n), -EBADMSG);
        free(blob);
        seal_key_free(k1);
        seal_key_free(k2);
}

static void test_seal_limits(void **state)
{
        struct fixture *f = *state;
        struct seal_key *k = load_ok(f->key, true);
        uint8_t big[SEAL_SECRET_MAX + 1], out[SEAL_SECRET_MAX], *blob = (uint8_t *)0x1;
        size_t blob_len = 7, n = 0;

        memset(big, 0x42, sizeof(big));
        assert_int_equal(seal_encrypt(k, "frank", big, sizeof(big), &blob, &blob_len), -EINVAL);
        assert_int_equal(seal_encrypt(k, "", big, 1, &blob, &blob_len), -EINVAL);
        assert_int_equal(seal_encrypt(k, NULL, big, 1, &blob, &blob_len), -EINVAL);
        assert_ptr_equal(blob, (uint8_t *)0x1);
        assert_int_equal(blob_len, 7);

        assert_int_equal(seal_encrypt(k, "frank", big, SEAL_SECRET_MAX, &blob, &blob_len), 0);
        assert_int_equal(blob_len, SEAL_SECRET_MAX + SEAL_OVERHEAD);
        assert_int_equal(seal_decrypt(k, "frank", blob, blob_len, out, sizeof(out), &n), 0);
        assert_int_equal(n, SEAL_SECRET_MAX);
        assert_memory_equal(out, big, SEAL_SECRET_MAX);
        free(blob);
        seal_key_free(k);
}

static void test_key_file_refused(void **state)
{
        struct fixture *f = *state;
        uint8_t bytes[SEAL_KEY_BYTES + 1];
        char path[PATH_MAX], link[PATH_MAX], sub[PATH_MAX];
        struct seal_key *k = (struct seal_key *)0x1;
        struct stat st;

        memset(bytes, 7, sizeof(bytes));
        snprintf(path, sizeof(path), "%s/k", f->dir);

        write_file(path, bytes, SEAL_KEY_BYTES, 0600);
        seal_key_free(load_ok(path, false));

        /* Any group or other bit: -EPERM, whether or not create is asked. */
        assert_int_equal(chmod(path, 0644), 0);
        assert_int_equal(seal_key_load(path, false, &k), -EPERM);
        assert_int_equal(seal_key_load(path, true, &k), -EPERM);
        assert_int_equal(chmod(path, 0640), 0);
        assert_int_equal(seal_key_load(path, false, &k), -EPERM);
        assert_int_equal(chmod(path, 0601), 0);
        assert_int_equal(seal_key_load(path, false, &k), -EPERM);
        assert_int_equal(chmod(path, 0400), 0);
        seal_key_free(load_ok(path, false));
        assert_int_equal(chmod(path, 0600), 0);

        /* Wrong size: -EINVAL, and create=true does not overwrite it. */
        write_file(path, bytes, SEAL_KEY_BYTES - 1, 0600);
        assert_int_equal(seal_key_load(path, false, &k), -EINVAL);
        assert_int_equal(seal_key_load(path, true, &k), -EINVAL);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, SEAL_KEY_BYTES - 1);
        write_file(path, bytes, SEAL_KEY_BYTES + 1, 0600);
        assert_int_equal(seal_key_load(path, false, &k), -EINVAL);
        write_file(path, bytes, 0, 0600);
        assert_int_equal(seal_key_load(path, false, &k), -EINVAL);

        /* A symlink to a perfectly good key is not followed, and not replaced with create=true. */
        write_file(path, bytes, SEAL_KEY_BYTES, 0600);
        snprintf(link, sizeof(link), "%s/link.key", f->dir);
        assert_int_equal(symlink(path, link), 0);
        assert_int_equal(seal_key_load(link, false, &k), -ELOOP);
        assert_int_equal(seal_key_load(link, true, &k), -ELOOP);
        assert_int_equal(lstat(link, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        /* A dangling symlink is not a "missing file" to create through. */
        snprintf(link, sizeof(link), "%s/dangling.key", f->dir);
        snprintf(sub, sizeof(sub), "%s/target-of-dangling", f->dir);
        assert_int_equal(symlink(sub, link), 0);
        assert_int_equal(seal_key_load(link, true, &k), -ELOOP);
        assert_int_equal(stat(sub, &st), -1);

        /* Not a regular file. */
        snprintf(sub, sizeof(sub), "%s/adir", f->dir);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(seal_key_load(sub, true, &k), -EPERM);
        snprintf(sub, sizeof(sub), "%s/afifo", f->dir);
        assert_int_equal(mkfifo(sub, 0600), 0);
        assert_int_equal(seal_key_load(sub, false, &k), -EPERM);

        /* Owned by somebody else (needs root to arrange). */
        if (geteuid() == 0) {
                assert_int_equal(chown(path, 65534, 65534), 0);
                assert_int_equal(seal_key_load(path, false, &k), -EPERM);
        } else {
                print_message("not root: owner check not exercised\n");
        }

        /* Parent of the key directory missing: only the last directory is created. */
        snprintf(sub, sizeof(sub), "%s/no/such/seal.key", f->dir);
        assert_int_equal(seal_key_load(sub, true, &k), -ENOENT);

        assert_ptr_equal(k, (struct seal_key *)0x1);
}

static void test_hash_code(void **state)
{
        struct fixture *f = *state;
        char other[PATH_MAX];
        struct seal_key *k1 = load_ok(f->key, true), *k1b = load_ok(f->key, false), *k2;
        uint8_t a[SEAL_HASH_BYTES], b[SEAL_HASH_BYTES], zero[SEAL_HASH_BYTES] = {0};

        snprintf(other, sizeof(other), "%s/other.key", f->dir);
        k2 = load_ok(other, true);

        assert_int_equal(seal_hash_code(k1, "grace", "1234567890", a), 0);
        assert_memory_not_equal(a, zero, sizeof(a));
        /* Deterministic for (key, user, code), also across loads of the key. */
        assert_int_equal(seal_hash_code(k1b, "grace", "1234567890", b), 0);
        assert_memory_equal(a, b, sizeof(a));
        /* Different code, user or key: different hash. */
        assert_int_equal(seal_hash_code(k1, "grace", "1234567891", b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        assert_int_equal(seal_hash_code(k1, "heidi", "1234567890", b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        assert_int_equal(seal_hash_code(k2, "grace", "1234567890", b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        /* The user/code boundary matters. */
        assert_int_equal(seal_hash_code(k1, "u1", "234567890", a), 0);
        assert_int_equal(seal_hash_code(k1, "u", "1234567890", b), 0);
        assert_memory_not_equal(a, b, sizeof(a));
        /* Nonsense arguments are refused and RET is left alone. */
        memset(b, 0x77, sizeof(b));
        assert_int_equal(seal_hash_code(k1, "", "1234567890", b), -EINVAL);
        assert_int_equal(seal_hash_code(k1, NULL, "1234567890", b), -EINVAL);
        assert_int_equal(seal_hash_code(k1, "grace", NULL, b), -EINVAL);
        assert_int_equal(b[0], 0x77);

        seal_key_free(k1);
        seal_key_free(k1b);
        seal_key_free(k2);
}

static void test_password(void **state)
{
        char h1[256], h2[256], small[64];
        bool match = false;

        assert_int_equal(seal_password_hash("correct horse battery staple", h1, sizeof(h1)), 0);
        assert_int_equal(strncmp(h1, "$argon2id$", 10), 0);
        assert_int_equal(seal_password_check(h1, "correct horse battery staple", &match), 0);
        assert_true(match);
        assert_int_equal(seal_password_check(h1, "correct horse battery stapl", &match), 0);
        assert_false(match);
        match = true;
        assert_int_equal(seal_password_check(h1, "", &match), 0);
        assert_false(match);

        /* Salted: the same password hashes differently, both verify. */
        assert_int_equal(seal_password_hash("correct horse battery staple", h2, sizeof(h2)), 0);
        assert_string_not_equal(h1, h2);
        assert_int_equal(seal_password_check(h2, "correct horse battery staple", &match), 0);
        assert_true(match);

        /* Too small a buffer: -ENOBUFS and nothing written. */
        strcpy(small, "untouched");
        assert_int_equal(seal_password_hash("pw", small, sizeof(small)), -ENOBUFS);
        assert_string_equal(small, "untouched");

        /* Not a hash at all, or a damaged one. */
        assert_int_equal(seal_password_check("plaintext", "plaintext", &match), -EINVAL);
        assert_int_equal(seal_password_check("", "", &match), -EINVAL);
        h1[20] = '\0';
        assert_true(seal_password_check(h1, "correct horse battery staple", &match) < 0);
}

static void test_helpers(void **state)
{
        uint8_t a[32], b[32], zero[32] = {0};
        char *s;
        unsigned seen = 0;

        seal_random(a, sizeof(a));
        seal_random(b, sizeof(b));
        assert_memory_not_equal(a, b, sizeof(a));
        assert_memory_not_equal(a, zero, sizeof(a));

        memcpy(b, a, sizeof(a));
        assert_true(seal_equal(a, b, sizeof(a)));
        b[31] ^= 1;
        assert_false(seal_equal(a, b, sizeof(a)));
        assert_true(seal_equal(a, b, 31));
        b[0] ^= 0x80;
        assert_false(seal_equal(a, b, 31));

        seal_wipe(a, sizeof(a));
        assert_memory_equal(a, zero, sizeof(a));

        for (int i = 0; i < 2000; i++) {
                uint32_t v = seal_random_uniform(7);

                assert_true(v < 7);
                seen |= 1u << v;
        }
        assert_int_equal(seen, 0x7f);

        s = strdup("a secret");
        assert_non_null(s);
        assert_null(seal_wipe_free_str(s));
        assert_null(seal_wipe_free_str(NULL));
}

/* Long-lived secrets get zeroed, usable memory; freeing NULL is fine. */
static void test_secure_alloc(void **state)
{
        unsigned char *p = seal_secure_alloc(4096);

        assert_non_null(p);
        for (size_t i = 0; i < 4096; i++)
                assert_int_equal(p[i], 0);
        memset(p, 0x41, 4096);
        seal_secure_free(p);
        seal_secure_free(NULL);
        assert_null(seal_secure_alloc(0));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_key_create_and_reload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_concurrent_create, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seal_tamper_and_user, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seal_other_key, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seal_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_key_file_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hash_code, setup, teardown),
                cmocka_unit_test(test_password),
                cmocka_unit_test(test_helpers),
                cmocka_unit_test(test_secure_alloc),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
