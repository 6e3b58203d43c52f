// The convoy executable: subcommands train, eval, convert, bench.
int main() { return 0; }
