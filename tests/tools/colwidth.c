/*
 * colwidth.c: for each line of stdin, print the display column at which the last
 * occurrence of a given ASCII character starts (or -1), measured with utf8proc's
 * widths. End-to-end tests use it to check that a row with wide (CJK) characters
 * lines up with the others on a captured screen.  usage: colwidth CHAR < screen
 */
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

int main(int argc, char **argv)
{
    if (argc != 2 || strlen(argv[1]) != 1) {
        fprintf(stderr, "usage: colwidth CHAR < text\n");
        return 2;
    }
    char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)line;
        utf8proc_ssize_t n = (utf8proc_ssize_t)strcspn(line, "\n");
        long col = 0, at = -1;
        while (n > 0) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate(s, n, &cp);
            if (k <= 0) {
                k = 1;
                cp = 0xFFFD;
            }
            if (cp == (unsigned char)argv[1][0])
                at = col;
            int w = utf8proc_charwidth(cp);
            col += w < 0 ? 1 : w;
            s += k;
            n -= k;
        }
        printf("%ld\n", at);
    }
    return 0;
}
