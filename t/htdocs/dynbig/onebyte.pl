#!/usr/bin/perl
# N bytes (QUERY_STRING n=N, default 1000000), written one byte at a time:
# mod_cgid reads the pipe as the bytes come, a few at a time.
use strict;
use warnings;
my ($n) = ($ENV{QUERY_STRING} // '') =~ /n=(\d+)/;
$n //= 1_000_000;
local $/;
<STDIN>;
syswrite STDOUT, "Content-Type: text/plain\r\n\r\n";
for (my $i = 0; $i < $n; $i++) {
    syswrite STDOUT, chr(ord('a') + $i % 26);
}
