/* Preloaded last by the `make test-asan` wrapper (mk/hardening.mk): once the
 * sanitizer runtime is in, take LD_PRELOAD out of the environment, so that
 * the processes the interpreter starts (nginx, curl, openssl, sh) run without
 * it. The interpreters the specs start go through the wrapper again. */
#include <stdlib.h>

__attribute__((constructor)) static void cdp_unpreload(void)
{
    unsetenv("LD_PRELOAD");
}
