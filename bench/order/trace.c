// Records which functions of an executable run, in the order they first run, so that
// `scripts/order-file.sh` can have the linker place them together (see that script for why).
//
//   trace SYMBOLS OUT PROGRAM [ARGS...]
//
// SYMBOLS lists "hex-address name" per line: PROGRAM's function symbols (FUNC in `readelf -s`; a
// data label would be overwritten). OUT is a file name; "%p" in it becomes the traced process's pid.
// The tracer starts PROGRAM under ptrace, writes a breakpoint (int3) at every listed address once
// exec has mapped it, and on each first hit writes the names at that address to OUT, puts the
// original byte back and lets the thread go on: each function costs one stop, then runs at full
// speed. Threads are followed as they are created. Signals are passed on, except SIGSTOP (each new
// thread starts with one); SIGTERM, SIGINT and SIGHUP sent to the tracer go to PROGRAM. Processes
// PROGRAM forks are not traced and keep the breakpoints not hit yet, so they must exec or exit
// without running PROGRAM's code (posix_spawn does; `fleet bench-worker` forks nothing else).
// x86-64 Linux only. Valgrind, which could do the same, crashes on `fleet` (3.19 on Debian 12).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

struct site {
    uint64_t address;  // relative to the executable's load address
    char *names;       // every name at this address, newline-separated
    uint8_t original;
    int state;  // 0: no breakpoint, 1: armed, 2: hit
};

static struct site *sites;
static size_t count;
static volatile sig_atomic_t traced_pid;

static int by_address_and_name(const void *a, const void *b) {
    const struct site *x = a, *y = b;
    if (x->address != y->address) return x->address < y->address ? -1 : 1;
    return strcmp(x->names, y->names);
}

static struct site *find(uint64_t address) {
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sites[mid].address == address) return &sites[mid];
        if (sites[mid].address < address) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

static void load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(2); }
    size_t capacity = 1 << 16;
    sites = malloc(capacity * sizeof *sites);
    char *line = NULL;
    size_t length = 0;
    while (getline(&line, &length, f) > 0) {
        char *name = strchr(line, ' ');
        if (!name) continue;
        *name++ = 0;
        name[strcspn(name, "\n")] = 0;
        if (!*name) continue;
        if (count == capacity) sites = realloc(sites, (capacity *= 2) * sizeof *sites);
        sites[count++] = (struct site){strtoull(line, NULL, 16), strdup(name), 0, 0};
    }
    free(line);
    fclose(f);
    qsort(sites, count, sizeof *sites, by_address_and_name);
    // A name listed twice (say, in .symtab and .dynsym) counts once; aliases share a breakpoint and
    // are recorded together.
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        struct site *last = kept > 0 ? &sites[kept - 1] : NULL;
        if (last && last->address == sites[i].address) {
            size_t n = strlen(sites[i].names);
            const char *tail = last->names + strlen(last->names) - n;
            int same = tail >= last->names && strcmp(tail, sites[i].names) == 0
                       && (tail == last->names || tail[-1] == '\n');
            if (!same) {
                char *joined;
                if (asprintf(&joined, "%s\n%s", last->names, sites[i].names) < 0) exit(2);
                free(last->names);
                last->names = joined;
            }
            free(sites[i].names);
        } else {
            sites[kept++] = sites[i];
        }
    }
    count = kept;
}

// What to add to a symbol's value: the load address of a position-independent executable (its
// first mapping, at file offset 0), or 0 for one linked at fixed addresses, whose symbols hold them.
static uint64_t load_address(pid_t pid, const char *program) {
    FILE *elf = fopen(program, "rb");
    unsigned char header[18];
    if (!elf || fread(header, 1, sizeof header, elf) != sizeof header) { perror(program); exit(2); }
    fclose(elf);
    if (header[16] == 2 /* ET_EXEC */) return 0;
    char maps[64], exe[4096], line[8192];
    snprintf(maps, sizeof maps, "/proc/%d/maps", pid);
    char *real = realpath(program, exe);
    FILE *f = fopen(maps, "r");
    if (!f || !real) { perror("maps"); exit(2); }
    uint64_t start = 0;
    while (fgets(line, sizeof line, f)) {
        uint64_t from, offset;
        int path_at = 0;
        line[strcspn(line, "\n")] = 0;
        // The path is the rest of the line: it may hold spaces.
        if (sscanf(line, "%lx-%*x %*s %lx %*s %*s %n", &from, &offset, &path_at) == 2 && path_at > 0
            && offset == 0 && strcmp(line + path_at, real) == 0) {
            start = from;
            break;
        }
    }
    fclose(f);
    if (!start) { fprintf(stderr, "trace: %s is not mapped in %d\n", real, pid); exit(2); }
    return start;
}

static int poke_byte(pid_t pid, uint64_t address, uint8_t byte, uint8_t *old) {
    errno = 0;
    long word = ptrace(PTRACE_PEEKTEXT, pid, (void *)address, NULL);
    if (errno) return -1;
    if (old) *old = (uint8_t)word;
    word = (word & ~0xffL) | byte;
    return (int)ptrace(PTRACE_POKETEXT, pid, (void *)address, (void *)word);
}

static void forward(int signal) {
    if (traced_pid > 0) kill(traced_pid, signal);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: trace SYMBOLS OUT PROGRAM [ARGS...]\n");
        return 2;
    }
    load(argv[1]);
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 2; }
    if (child == 0) {
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
            perror("trace: PTRACE_TRACEME");
            _exit(126);
        }
        execv(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    traced_pid = child;
    struct sigaction action = {.sa_handler = forward};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
    char path[4096];
    const char *marker = strstr(argv[2], "%p");
    if (marker)
        snprintf(path, sizeof path, "%.*s%d%s", (int)(marker - argv[2]), argv[2], child, marker + 2);
    else
        snprintf(path, sizeof path, "%s", argv[2]);
    FILE *out = fopen(path, "w");
    if (!out) { perror(path); kill(child, SIGKILL); return 2; }
    // Each name is on disk as soon as it is recorded, whatever ends the tracer.
    setvbuf(out, NULL, _IOLBF, 0);
    int status;
    // The child stops with SIGTRAP once exec has mapped the executable; signals before that are
    // passed on, and a child that ends instead (ptrace refused, exec failed) ends the tracer.
    for (;;) {
        if (waitpid(child, &status, 0) < 0) {
            if (errno == EINTR) continue;
            perror("trace: waitpid");
            return 2;
        }
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        if (WSTOPSIG(status) == SIGTRAP) break;
        ptrace(PTRACE_CONT, child, NULL, (void *)(long)WSTOPSIG(status));
    }
    ptrace(PTRACE_SETOPTIONS, child, NULL,
           (void *)(PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL | PTRACE_O_TRACEEXEC));
    uint64_t base = load_address(child, argv[3]);
    size_t armed = 0;
    for (size_t i = 0; i < count; i++)
        if (poke_byte(child, base + sites[i].address, 0xcc, &sites[i].original) == 0) {
            sites[i].state = 1;
            armed++;
        }
    fprintf(stderr, "trace: %zu breakpoints in %s at %#lx\n", armed, argv[3], base);
    ptrace(PTRACE_CONT, child, NULL, NULL);
    int exit_code = 0;
    size_t hits = 0;
    for (;;) {
        pid_t pid = waitpid(-1, &status, __WALL);
        if (pid < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (pid == child) exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            continue;
        }
        if (!WIFSTOPPED(status)) continue;
        int signal = WSTOPSIG(status);
        int event = status >> 16;
        int pass = 0;
        if (event != 0) {
            pass = 0;  // a clone or exec event: nothing to deliver
        } else if (signal == SIGTRAP) {
            struct user_regs_struct regs;
            struct site *site = NULL;
            if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0 && regs.rip > base)
                site = find(regs.rip - 1 - base);
            if (site && site->state != 0) {
                if (site->state == 1) {
                    poke_byte(pid, base + site->address, site->original, NULL);
                    site->state = 2;
                    fprintf(out, "%s\n", site->names);
                    hits++;
                }
                // Another thread may have hit it before it was taken out: it runs the function too.
                regs.rip -= 1;
                ptrace(PTRACE_SETREGS, pid, NULL, &regs);
            } else {
                pass = signal;
            }
        } else if (signal != SIGSTOP) {
            pass = signal;
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)pass);
    }
    fclose(out);
    fprintf(stderr, "trace: %zu functions ran\n", hits);
    return exit_code;
}
