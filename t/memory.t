# Bounded memory (CondCacheDigestMaxSize 64 KiB in /dyn): a response many
# times larger streams through: its first bytes arrive while the handler
# is still running, and the server's memory does not grow with its size.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use LWP::UserAgent ();
use Time::HiRes qw(time);
use lib 't/lib';
use CondCacheTest;

plan tests => 5;

my $base = 'http://' . Apache::TestRequest::hostport();
my $ua = LWP::UserAgent->new(timeout => 60);

# GET a URL, reading the body in chunks: bytes, time of the first and of
# the last chunk
sub stream {
    my $url = shift;
    my ($bytes, $first, $last) = (0);
    my $r = $ua->get("$base$url", ':content_cb' => sub {
        $first //= time;
        $last = time;
        $bytes += length $_[0];
    }, ':read_size_hint' => 65536);
    return ($r, $bytes, $first, $last);
}

# the peak resident memory (VmHWM) of the server's processes, in KiB: a
# body held in memory shows there even after it has been freed
sub server_peak {
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $pidfile or die "$pidfile: $!";
    chomp(my $parent = <$fh>);
    my $kib = 0;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $s, '<', $stat or next;
        my @f = split ' ', scalar <$s>;
        next unless $f[0] == $parent || $f[3] == $parent;
        open my $st, '<', "/proc/$f[0]/status" or next;
        while (<$st>) {
            $kib += $1 if /^VmHWM:\s+(\d+)/;
        }
    }
    return $kib;
}

# 4 MiB with a 2 s pause half way: the first half arrives before it
my ($r, $bytes, $first, $last) = stream('/dyn/big.sh?mb=4&pause=2');
ok t_cmp($r->code, 200, 'large response: 200');
ok t_cmp($bytes, 4 * 1024 * 1024, 'all of it');
ok t_cmp($last - $first > 1.5 ? 1 : 0, 1,
         sprintf('first bytes %.1f s before the last: streamed, not held',
                 $last - $first));

# warm every process up, then compare 64 MiB with 4 MiB
stream('/dyn/big.sh?mb=4') for 1 .. 4;
my $before = server_peak();
($r, $bytes) = stream('/dyn/big.sh?mb=64') for 1 .. 2;
my $after = server_peak();
ok t_cmp($bytes, 64 * 1024 * 1024, '64 MiB through');
if (sanitized()) {
    skip 'server under AddressSanitizer: its peak memory is shadow memory '
         . 'and quarantine (grew by ' . ($after - $before) . ' KiB)';
}
else {
    ok t_cmp($after - $before < 16 * 1024 ? 1 : 0, 1,
             "peak server memory grew by " . ($after - $before)
             . " KiB for 64 MiB bodies (before $before KiB)");
}
