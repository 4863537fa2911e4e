# The validator store across restarts: a server of this test's own with
# CondCacheStore shmcb.  A graceful or a full restart starts the store
# empty (the provider's shared memory is made again with the new
# configuration): the first conditional request after it goes to the
# handler, whose answer stores the entry again, and nothing is read from
# the old layout.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestUtil;
use File::Temp qw(tempdir);
use LWP::UserAgent ();
use lib 't/lib';
use CondCacheTest;

my $httpd   = Apache::Test::vars('httpd');
my $modules = Apache::Test::vars('serverroot') . '/modules';
my $site    = docroot();

plan tests => 10;

my $dir = tempdir(CLEANUP => 1);
my $port = free_port();
my $mod = module_so();
open my $fh, '>', "$dir/httpd.conf" or die "$dir/httpd.conf: $!";
print $fh <<"EOC";
LoadModule mpm_event_module "$modules/mod_mpm_event.so"
LoadModule authz_core_module "$modules/mod_authz_core.so"
LoadModule mime_module "$modules/mod_mime.so"
LoadModule lua_module "$modules/mod_lua.so"
LoadModule socache_shmcb_module "$modules/mod_socache_shmcb.so"
LoadModule condcache_module "$mod"
${\ own_server_conf($dir, $port)}
LogFormat "%P %{X-Test-Id}i %r %>s [%{condcache}n]" note
CustomLog "$dir/access_log" note
DocumentRoot "$site"
CondCacheStore shmcb
<Directory "$site/store">
    Require all granted
    AddHandler lua-script .lua
    CondCache On
    CondCacheDigest On
    CondCacheStoreLifetime "access plus 10 minutes"
</Directory>
EOC
close $fh;

my $ua = LWP::UserAgent->new(timeout => 30);
my $url = "http://127.0.0.1:$port/store/page.lua?case=restart";
our $T;

# A conditional GET: its status, the decision noted for it in the server's
# access log and the process that answered it (the line is written after
# the response: wait for it)
my $seq = 0;
sub get_inm {
    my $id = "restart-$$-" . ++$seq;
    my $r = $ua->get($url, 'If-None-Match' => $T, 'X-Test-Id' => $id);
    for (1 .. 50) {
        open my $fh, '<', "$dir/access_log" or last;
        while (<$fh>) {
            return ($r->code, $2, $1) if /^(\d+) \Q$id\E .*\[(.*)\]$/;
        }
        select undef, undef, undef, 0.1;
    }
    return ($r->code, 'no log line', 0);
}

sub generations {
    open my $fh, '<', "$dir/error_log" or return 0;
    return scalar grep { /resuming normal operations/ } <$fh>;
}

my $out = `'$httpd' -d '$dir' -f '$dir/httpd.conf' -k start 2>&1`;
ok t_cmp(wait_for($port) ? 'up' : "not up: $out", 'up', 'the server starts');
$T = $ua->get($url)->header('ETag');
my ($code, $note, $pid) = get_inm();
ok t_cmp($code, 304, 'a 304');
ok t_cmp($note, '304 store-match', 'from the store');

# the server's children (the old generation, before a restart)
sub children {
    open my $pf, '<', "$dir/httpd.pid" or return;
    chomp(my $parent = <$pf>);
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $sf, '<', $stat or next;
        my $line = <$sf> // next;
        push @kids, $1 if $line =~ /^(\d+) \(.*\) \S (\d+) / && $2 == $parent;
    }
    return @kids;
}

for my $how ('graceful', 'restart') {
    my %old = map { $_ => 1 } children();
    my $gen = generations();
    system $httpd, '-d', $dir, '-f', "$dir/httpd.conf", '-k', $how;
    for (1 .. 100) {
        last if generations() > $gen;
        select undef, undef, undef, 0.1;
    }
    # After a graceful restart, the old generation's children may still
    # answer for a moment, from the store they had: the first answer of
    # a process of the new generation is the one that tells
    my $codes = '';
    for (1 .. 50) {
        ($code, $note, $pid) = get_inm();
        $codes .= "$code ";
        last unless $old{$pid};
        select undef, undef, undef, 0.1;
    }
    ok t_cmp($codes, qr/^(304 )+$/, "$how: 304s, from either generation");
    ok t_cmp($note, '304 digest-match',
             "$how: the new store starts empty: the handler answered");
    ($code, $note) = get_inm();
    ok t_cmp($note, '304 store-match', "$how: and stored again");
}

stop($dir);
open my $log, '<', "$dir/error_log" or die $!;
my @bad = grep { /\[(?:\w+:)?(?:error|crit|alert|emerg)\]|exit signal/ } <$log>;
ok t_cmp(scalar(@bad), 0, "no error in the server's log: @bad");
