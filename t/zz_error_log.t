# Runs last: the suite fails when the server's error log holds an [error]
# or [warn] that no test asked for, or when mod_condcache logged no trace
# of its decisions (LogLevel condcache:trace2 in extra.conf), or no line
# at startup that names the module's version.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;

plan tests => 4;

# What the tests provoke on purpose, each with the test that does.
my @expected = (
    qr/AH01617: user alice: authentication failure/,  # access.t, bad password
    qr/AH01630: client denied by server configuration/, # access.t, /denied
    qr/AH00132: file permissions deny server access: .*noread\.txt/,
                                                     # layouts.t, unreadable
    qr/CC00008: .*layouts\.conf, line \d+: CondCacheExpiresByType in <Directory \S+\/migrate\/half> beside ExpiresActive On/,
                                                     # migration.t, half migrated
);

my $log = Apache::Test::vars('t_logs') . '/error_log';
open my $fh, '<', $log or die "$log: $!";
# the version mod_condcache.h gives, which the startup line names
open my $h, '<', 'mod_condcache.h' or die "mod_condcache.h: $!";
my ($version) = map { /^#define CONDCACHE_VERSION "([^"]+)"/ ? $1 : () } <$h>;
close $h;
my (@unexpected, $traces, $crashes, $started);
while (my $line = <$fh>) {
    $started++ if $line =~ /\[condcache:info\].* CC00020: mod_condcache\/\Q$version\E started$/;
    $traces++ if $line =~ /\[condcache:trace1\].* condcache: [A-Z]+ \S+ \d{3}: \S+ \S+; /;
    $crashes++ if $line =~ /exit signal|AH00052|AH00060/;
    next unless $line =~ /\[[a-z_0-9]+:(error|warn)\]/;
    next if grep { $line =~ $_ } @expected;
    push @unexpected, $line;
}
ok t_cmp(scalar(@unexpected), 0,
         "no unexpected [error] or [warn]:\n" . join '', @unexpected);
ok t_cmp($crashes // 0, 0, 'no child crashed');
ok t_cmp(($traces // 0) > 0 ? 1 : 0, 1, 'decisions traced at trace1');
ok t_cmp(($started // 0) > 0 ? 1 : 0, 1,
         "the startup line at info names mod_condcache/$version");
