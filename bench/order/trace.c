// Records which functions of an executable run, in the order they first run, so that
// `scripts/order-file.sh` can have the linker place them together (see that script for why).
//
//   trace SYMBOLS OUT PROGRAM [ARGS...]
//
// OUT is a file name; "%p" in it becomes the traced process's pid.
// SYMBOLS lists "hex-address name" per line (`nm` of PROGRAM's function symbols). The tracer starts
// PROGRAM under ptrace, writes a breakpoint (int3) at every listed address once the kernel has
// mapped it, and on each first hit writes the names at that address to OUT, puts the original byte
// back and lets the thread go on: each function costs one stop, then runs at full speed. Threads are
// followed as they are created; other signals are passed on. Valgrind, which could do the same,
// crashes on this executable (3.19 on Debian 12).
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

static int by_address(const void *a, const void *b) {
    uint64_t x = ((const struct site *)a)->address, y = ((const struct site *)b)->address;
    return x < y ? -1 : x > y;
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
        if (count == capacity) sites = realloc(sites, (capacity *= 2) * sizeof *sites);
        sites[count++] = (struct site){strtoull(line, NULL, 16), strdup(name), 0, 0};
    }
    free(line);
    fclose(f);
    qsort(sites, count, sizeof *sites, by_address);
    // Aliases share a breakpoint and are recorded together.
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        if (kept > 0 && sites[kept - 1].address == sites[i].address) {
            char *joined;
            if (asprintf(&joined, "%s\n%s", sites[kept - 1].names, sites[i].names) < 0) exit(2);
            free(sites[kept - 1].names);
            free(sites[i].names);
            sites[kept - 1].names = joined;
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
        char path[4096] = "";
        if (sscanf(line, "%lx-%*x %*s %lx %*s %*s %4095s", &from, &offset, path) >= 2 && offset == 0
            && strcmp(path, real) == 0) {
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

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: trace SYMBOLS OUT PROGRAM [ARGS...]\n");
        return 2;
    }
    load(argv[1]);
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, NULL, NULL);
        execv(argv[3], argv + 3);
        perror(argv[3]);
        _exit(127);
    }
    char path[4096];
    const char *marker = strstr(argv[2], "%p");
    if (marker)
        snprintf(path, sizeof path, "%.*s%d%s", (int)(marker - argv[2]), argv[2], child, marker + 2);
    else
        snprintf(path, sizeof path, "%s", argv[2]);
    FILE *out = fopen(path, "w");
    if (!out) { perror(path); kill(child, SIGKILL); return 2; }
    int status;
    // The child stops with SIGTRAP once exec has mapped the executable.
    if (waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status)) { perror("exec"); return 2; }
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
        if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_EXEC) {
            pass = 0;
        } else if (signal == SIGTRAP) {
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, pid, NULL, &regs);
            struct site *site = regs.rip > base ? find(regs.rip - 1 - base) : NULL;
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
        } else if (signal == SIGSTOP && event == PTRACE_EVENT_STOP) {
            pass = 0;
        } else if (signal != SIGSTOP) {
            pass = signal;
        }
        ptrace(PTRACE_CONT, pid, NULL, (void *)(long)pass);
    }
    fclose(out);
    fprintf(stderr, "trace: %zu functions ran\n", hits);
    return exit_code;
}
