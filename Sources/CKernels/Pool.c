/* The kernel threads' pool (see include/CKernels.h): workers that wait for the next parallel
 * step by spinning for a short while before they sleep. A forward pass is about 150 parallel
 * steps back to back; waking a sleeping thread for each one cost about 20 us here (measured
 * with GCD's concurrentPerform), more when the host is busy. */

#include "CKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define CK_PAUSE() __asm__ volatile("yield")
#else
#define CK_PAUSE() ((void)0)
#endif

#define CK_POOL_MAX 64
/* How long an idle worker spins before it sleeps, in nanoseconds. */
#define CK_POOL_SPIN_NS 300000

static pthread_mutex_t ck_pool_busy = PTHREAD_MUTEX_INITIALIZER; /* one step at a time */
static pthread_mutex_t ck_pool_lock = PTHREAD_MUTEX_INITIALIZER; /* guards sleeping */
static pthread_cond_t ck_pool_wake = PTHREAD_COND_INITIALIZER;
static int ck_pool_started = 0; /* workers 1..started exist (under ck_pool_busy) */
static atomic_uint ck_pool_generation = 0;
static atomic_int ck_pool_pending = 0;
static atomic_int ck_pool_sleepers = 0;
static ck_pool_body ck_pool_job_body = NULL;
static void *ck_pool_job_context = NULL;
static int ck_pool_job_workers = 0;

static long long ck_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* A new worker's number and the generation it was created in (the step being prepared, which
 * it must answer: it may start running after that step is published). */
struct ck_pool_start {
    int worker;
    unsigned generation;
};

static void *ck_pool_worker(void *argument) {
    struct ck_pool_start start = *(struct ck_pool_start *)argument;
    free(argument);
    int worker = start.worker;
    unsigned seen = start.generation;
    for (;;) {
        /* Spin, then sleep, until the generation moves on. */
        long long deadline = 0;
        unsigned current;
        int spins = 0;
        while ((current = atomic_load_explicit(&ck_pool_generation, memory_order_acquire)) == seen) {
            CK_PAUSE();
            if (++spins % 256 != 0) continue;
            long long now = ck_now_ns();
            if (deadline == 0) {
                deadline = now + CK_POOL_SPIN_NS;
            } else if (now > deadline) {
                pthread_mutex_lock(&ck_pool_lock);
                atomic_fetch_add(&ck_pool_sleepers, 1);
                while ((current = atomic_load_explicit(&ck_pool_generation, memory_order_acquire)) == seen)
                    pthread_cond_wait(&ck_pool_wake, &ck_pool_lock);
                atomic_fetch_sub(&ck_pool_sleepers, 1);
                pthread_mutex_unlock(&ck_pool_lock);
                break;
            }
        }
        seen = current;
        /* Every started worker answers every step, taking part or not, so that none is still
         * looking at this step's job when the next one is published. */
        if (worker < ck_pool_job_workers) ck_pool_job_body(ck_pool_job_context, worker);
        atomic_fetch_sub_explicit(&ck_pool_pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

void ck_pool_run(int workers, ck_pool_body body, void *context) {
    if (workers > CK_POOL_MAX) workers = CK_POOL_MAX;
    /* One worker, or the pool already busy (a step started from inside another step, or from
     * another thread): everything on the calling thread. Bodies share their tasks through
     * counters, so worker 0 alone does all of them. */
    if (workers <= 1 || pthread_mutex_trylock(&ck_pool_busy) != 0) {
        body(context, 0);
        return;
    }
    while (ck_pool_started < workers - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        struct ck_pool_start *start = malloc(sizeof *start);
        if (!start) break;
        start->worker = ck_pool_started + 1;
        start->generation = atomic_load_explicit(&ck_pool_generation, memory_order_acquire);
        int failed = pthread_create(&thread, &attributes, ck_pool_worker, start);
        pthread_attr_destroy(&attributes);
        if (failed) {
            free(start);
            break;
        }
        ck_pool_started++;
    }
    if (workers - 1 > ck_pool_started) workers = ck_pool_started + 1;
    ck_pool_job_body = body;
    ck_pool_job_context = context;
    ck_pool_job_workers = workers;
    atomic_store_explicit(&ck_pool_pending, ck_pool_started, memory_order_relaxed);
    /* Publishes the job (release) to every worker that sees the new generation (acquire). */
    atomic_fetch_add_explicit(&ck_pool_generation, 1, memory_order_acq_rel);
    if (atomic_load(&ck_pool_sleepers) > 0) {
        pthread_mutex_lock(&ck_pool_lock);
        pthread_cond_broadcast(&ck_pool_wake);
        pthread_mutex_unlock(&ck_pool_lock);
    }
    body(context, 0);
    while (atomic_load_explicit(&ck_pool_pending, memory_order_acquire) > 0) CK_PAUSE();
    ck_pool_job_body = NULL;
    pthread_mutex_unlock(&ck_pool_busy);
}
