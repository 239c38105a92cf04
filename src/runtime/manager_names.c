/* Docker-like generated container names ("adjective_surname") and name rules. */
#include <string.h>
#include <sys/random.h>

#include "runtime/manager_internal.h"

/* Our own short lists; the point is readable, mostly unique names. */
static const char *const adjectives[] = {
    "agile",  "amazing", "bold",     "brave",    "bright",  "calm",   "clever",  "cool",
    "crisp",  "curious", "daring",   "eager",    "elegant", "epic",   "fervent", "festive",
    "fierce", "focused", "friendly", "gallant",  "gentle",  "happy",  "hardy",   "hopeful",
    "humble", "jolly",   "keen",     "kind",     "lucid",   "lucky",  "merry",   "modest",
    "nifty",  "noble",   "patient",  "peaceful", "plucky",  "polite", "proud",   "quick",
    "quiet",  "rapid",   "serene",   "sharp",    "shy",     "silent", "sleepy",  "smart",
    "steady", "stoic",   "sunny",    "swift",    "tender",  "tidy",   "upbeat",  "vibrant",
    "vivid",  "wise",    "witty",    "zealous",  "zen",     "jovial", "mellow",  "brisk",
};
static const char *const surnames[] = {
    "agnesi",  "babbage", "bardeen",  "bohr",     "boole",    "cantor",   "carson",   "cerf",
    "curie",   "darwin",  "dijkstra", "einstein", "euclid",   "euler",    "faraday",  "fermat",
    "fermi",   "feynman", "galileo",  "gauss",    "goodall",  "hamilton", "hawking",  "heisenberg",
    "hodgkin", "hopper",  "hypatia",  "joliot",   "kepler",   "knuth",    "lamarr",   "lovelace",
    "maxwell", "meitner", "mendel",   "morse",    "newton",   "noether",  "pascal",   "pasteur",
    "planck",  "raman",   "ritchie",  "shannon",  "sinoussi", "tesla",    "thompson", "torvalds",
    "turing",  "volta",   "wozniak",  "wright",   "yalow",    "lamport",  "liskov",   "kare",
};

void rt_name_generate(char out[64])
{
    uint32_t r[2] = {0, 0};
    if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
        r[0] = (uint32_t)berth_now_ns();
        r[1] = (uint32_t)(berth_now_ns() >> 20);
    }
    snprintf(out, 64, "%s_%s", adjectives[r[0] % ARRAY_SIZE(adjectives)],
             surnames[r[1] % ARRAY_SIZE(surnames)]);
}

/* Docker: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (at least two characters). */
bool rt_name_valid(const char *name)
{
    static const char first[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    size_t len = strlen(name);
    if (len < 2 || len > 255 || !strchr(first, name[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!strchr(first, name[i]) && !strchr("_.-", name[i]))
            return false;
    return true;
}
