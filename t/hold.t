# What the last filter holds for a digest, and for how long: memory bounded
# by CondCacheDigestMaxSize whatever the size of the pieces the handler
# writes (one byte at a time), streams by media type never held, and a
# handler that takes its time held no longer than CondCacheDigestMaxWait.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use LWP::UserAgent ();
use Time::HiRes qw(time);
use lib 't/lib';
use CondCacheTest;

plan tests => 22;

my $base = 'http://' . Apache::TestRequest::hostport();
my $ua = LWP::UserAgent->new(timeout => 120);

# GET a URL, reading the body as it comes: the response, the body, and the
# times its first and its last piece arrived
sub stream {
    my ($url, @headers) = @_;
    my ($body, $first, $last) = ('');
    my $r = $ua->get("$base$url", @headers, ':content_cb' => sub {
        $first //= time;
        $last = time;
        $body .= $_[0];
    }, ':read_size_hint' => 65536);
    return ($r, $body, $first // 0, $last // 0);
}

# --- one byte at a time, held whole -----------------------------------------
# 1,000,000 bytes under the default limit of 1 MiB, written by a CGI one
# byte per write(): mod_cgid hands them on a few bytes per bucket.  The
# child that served the request is found in the log; its peak memory is
# reset before (clear_refs) and read after.
my $n = 1_000_000;
my $want = join '', map { chr(ord('a') + $_ % 26) } 0 .. $n - 1;
my $url = "/dynbig/onebyte.pl?n=$n";
my ($r, $body) = stream($url);          # every child has run it once
ok t_cmp($r->code, 200, 'one byte at a time: 200');
ok t_cmp($body eq $want ? 'all of it' : length $body, 'all of it',
         'the whole body, in order');
my $T = $r->header('ETag');
ok t_cmp($T, digest_tag('text/plain', '', $want),
         'held whole: the digest of all the bytes');

my ($grew, $pid);
for my $try (1 .. 4) {
    my %rss = map { $_ => kib($_, 'VmRSS') } server_children();
    for my $child (keys %rss) {
        open my $cr, '>', "/proc/$child/clear_refs" or next;
        print $cr "5\n";
    }
    my $id = "hold-$$-$try";
    ($r, $body) = stream($url, 'X-Test-Id' => $id);
    $pid = pid_for($id);
    next unless defined $pid && exists $rss{$pid};
    $grew = kib($pid, 'VmHWM') - $rss{$pid};
    last;
}
ok t_cmp(defined $grew ? 'measured' : 'no child to measure', 'measured',
         'the serving child was found');
if (sanitized()) {
    skip 'server under AddressSanitizer: its peak memory is shadow memory '
         . 'and quarantine (grew by ' . ($grew // '?') . ' KiB)';
}
else {
    ok t_cmp(defined $grew && $grew < 1024 + 2048 ? 1 : 0, 1,
             sprintf('its peak grew by %s KiB for a 1 MiB limit '
                     . '(at most the limit and 2 MiB)', $grew // '?'));
}
ok t_cmp($r->header('ETag'), $T, 'and it held all of it again');
$r = GET $url, 'If-None-Match' => $T;
ok t_cmp($r->code, 304, 'which revalidates');

# --- streams by media type are never held ------------------------------------
my ($first, $last);
($r, $body, $first, $last) = stream('/dyn/ndjson.sh');
ok t_cmp($r->code, 200, 'ndjson: 200');
ok t_cmp($body, join('', map { qq{{"n": $_}\n} } 1 .. 6), 'ndjson: every line');
ok t_cmp($last - $first > 2 ? 1 : 0, 1,
         sprintf('ndjson: first line %.1f s before the last: a stream, '
                 . 'not held', $last - $first));
ok t_cmp($r->header('ETag'), undef, 'ndjson: no digest');
ok t_cmp(note_for(GET => '/dyn/ndjson.sh', sub { GET_RC '/dyn/ndjson.sh' }),
         'pass stream', 'ndjson: note');

# --- a slow handler is held no longer than CondCacheDigestMaxWait (1 s) -----
# six lines half a second apart: held for a second, then streamed
($r, $body, $first, $last) = stream('/dyn/slow.sh');
ok t_cmp($body, join('', map { "line $_\n" } 1 .. 6), 'slow: every line');
ok t_cmp($last - $first > 1 ? 1 : 0, 1,
         sprintf('slow: first bytes %.1f s before the last', $last - $first));
ok t_cmp($r->header('ETag'), undef, 'slow: streamed, no digest');
ok t_cmp(note_for(GET => '/dyn/slow.sh', sub { GET_RC '/dyn/slow.sh' }),
         'pass slow', 'slow: note');
# where the wait allows it, the same script is held whole
($r, $body) = stream('/dyn/patient/slow.sh');
ok t_cmp($r->header('ETag'), digest_tag('text/plain', '', $body),
         'CondCacheDigestMaxWait 10: held, with its digest');
ok t_cmp(GET_RC('/dyn/patient/slow.sh',
                'If-None-Match' => $r->header('ETag')), 304,
         'and its 304');
# a slow response still answers the preconditions, on what it has
ok t_cmp(GET_RC('/dyn/slow.sh', 'If-Match' => '"x"'), 412,
         'slow, If-Match without a tag to match: 412 before any byte');
# CondCacheDigestMaxWait 0 holds what the handler has already written:
# a page written at once gets its digest, a slow one none
$r = GET '/dyn/nowait/one.lua';
ok t_cmp($r->header('ETag'), digest_tag('text/plain', '', "written at once\n"),
         'CondCacheDigestMaxWait 0, written at once: its digest');
ok t_cmp(GET_RC('/dyn/nowait/one.lua', 'If-None-Match' => $r->header('ETag')),
         304, 'and its 304');
ok t_cmp(note_for(GET => '/dyn/nowait/slow.sh',
                  sub { GET_RC '/dyn/nowait/slow.sh' }),
         'pass slow', 'CondCacheDigestMaxWait 0, a slow script: streamed');

# the server's child processes (the parent forks them; mod_cgid's daemon
# and the scripts it runs are not request threads)
sub server_children {
    my $pidfile = Apache::Test::vars('t_logs') . '/httpd.pid';
    open my $fh, '<', $pidfile or die "$pidfile: $!";
    chomp(my $parent = <$fh>);
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $s, '<', $stat or next;
        my @f = split ' ', scalar <$s>;
        push @kids, $f[0] if $f[3] == $parent;
    }
    return @kids;
}

sub kib {
    my ($p, $field) = @_;
    open my $st, '<', "/proc/$p/status" or return 0;
    while (my $line = <$st>) {
        return $1 if $line =~ /^\Q$field\E:\s+(\d+)/;
    }
    return 0;
}

# the pid of the child that logged the request with this X-Test-Id
sub pid_for {
    my $id = shift;
    my $log = Apache::Test::vars('t_logs') . '/pid_log';
    for (1 .. 50) {
        if (open my $fh, '<', $log) {
            while (my $line = <$fh>) {
                return $1 if $line =~ /^\Q$id\E (\d+)$/;
            }
        }
        select undef, undef, undef, 0.1;
    }
    return undef;
}
