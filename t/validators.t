# Validators of static files: CondCacheETag, CondCacheETagSalt,
# CondCacheLastModified; docs/conformance.md 1.1, 1.4, 1.5.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

plan tests => 39;

# XXH3-128 of "hello, condcache\n" and "changed, condcache\n" (xxhsum -H2)
my $digest_hello   = '"0323a1042d38a185b37cc8e63ec497bc"';
my $digest_changed = '"8c5473a41566c0e7f6472f2c8a1a30f0"';
my $etag_re = qr{^(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"$};

for my $f (qw(static/a.txt off/a.txt inode/a.txt salted/a.txt bare/a.txt
               digest/a.txt digest/copy.txt)) {
    set_mtime($f);
}

# Default, MTime Size: no inode, so every server of a farm agrees.
my $r = GET '/static/a.txt';
ok t_cmp($r->code, 200, 'static file: 200');
ok t_cmp($r->header('ETag'), tag_of('static/a.txt'), 'default tag: size-mtime');
ok t_cmp($r->header('ETag'), $etag_re, 'tag syntax');
ok t_cmp($r->header('Last-Modified'), LM_DATE, 'Last-Modified of the file');
ok t_cmp(note_for(GET => '/static/a.txt', sub { GET_RC '/static/a.txt' }),
         '200 unconditional', 'note');

# Where httpd's FileETag is the module's own (MTime Size), an unconditional
# request leaves the default handler's validators: the same ones.
set_mtime('same/a.txt');
set_mtime('same/nolm.txt');
$r = GET '/same/a.txt';
ok t_cmp($r->header('ETag'), tag_of('same/a.txt'), 'same FileETag: the tag');
ok t_cmp($r->header('Last-Modified'), LM_DATE, 'and Last-Modified');
ok t_cmp(GET_RC('/same/a.txt', 'If-None-Match' => tag_of('same/a.txt')),
         304, 'and the tag revalidates');
$r = GET '/same/nolm.txt';
ok t_cmp($r->header('Last-Modified'), undef,
         'CondCacheLastModified Off still applies');
ok t_cmp($r->header('ETag'), tag_of('same/nolm.txt'), 'with the tag');
ok t_cmp(GET_RC('/same/nolm.txt', 'If-Modified-Since' => LM_DATE), 200,
         'and no Last-Modified to compare with');

# Without the module the core's FileETag (INode MTime Size here) applies.
$r = GET '/off/a.txt';
ok t_cmp($r->header('ETag'), tag_of('off/a.txt', inode => 1),
         'CondCache Off leaves the core tag');

$r = GET '/inode/a.txt';
ok t_cmp($r->header('ETag'), tag_of('inode/a.txt', inode => 1),
         'CondCacheETag All: inode-size-mtime');

# Digest: the bytes, whatever the mtime or the file.
$r = GET '/digest/a.txt';
ok t_cmp($r->header('ETag'), $digest_hello, 'Digest: XXH3-128 of the body');
set_mtime('digest/copy.txt', LM_SECS + 86400);
ok t_cmp(GET('/digest/copy.txt')->header('ETag'), $digest_hello,
         'same bytes, other file and mtime: same tag');
ok t_cmp(GET_RC('/digest/a.txt', 'If-None-Match' => $digest_hello), 304,
         'Digest tag revalidates');
ok t_cmp(GET('/digest/a.txt')->header('ETag'), $digest_hello,
         'served again from the digest cache');
{
    my $path = file_path('digest/copy.txt');
    open my $fh, '>', $path or die "$path: $!";
    print $fh "changed, condcache\n";
    close $fh;
    ok t_cmp(GET('/digest/copy.txt')->header('ETag'), $digest_changed,
             'a changed file gets a new tag on its next request');
    ok t_cmp(GET_RC('/digest/copy.txt', 'If-None-Match' => $digest_hello),
             200, 'the old tag no longer matches');
    open $fh, '>', $path or die "$path: $!";
    print $fh "hello, condcache\n";
    close $fh;
}

# The digest is computed once per (device, inode, size, mtime) in each
# child, not for every request: count the computations per process.
GET_RC('/digest/a.txt') for 1 .. 20;
{
    my $path = file_path('digest/a.txt');
    my $log = Apache::Test::vars('t_logs') . '/error_log';
    my %per_pid;
    for (1 .. 20) {     # the log line may trail the response a little
        %per_pid = ();
        open my $fh, '<', $log or die "$log: $!";
        while (<$fh>) {
            $per_pid{$1}++ if /\[pid (\d+).*digest of \Q$path\E computed/;
        }
        last if %per_pid;
        select undef, undef, undef, 0.1;
    }
    my @twice = grep { $per_pid{$_} > 1 } keys %per_pid;
    ok t_cmp(scalar(keys %per_pid) > 0 ? 1 : 0, 1, 'the digest was computed');
    ok t_cmp("@twice", '', 'but never twice by one process');
}

# A deploy that keeps size and mtime (cp -p, rsync -t --inplace, tar): the
# digest cache must not serve the old build's tag.  Every child first
# caches the first build; then each request must get the second's.
{
    my $path = file_path('digest/site.css');
    my %build = (v1 => "body { color: red;  }\n",
                 v2 => "body { color: blue; }\n");
    my $deploy = sub {
        open my $fh, '>', $path or die "$path: $!";
        print $fh $build{$_[0]};
        close $fh;
        set_mtime('digest/site.css', 1700000000);
    };
    my %tag = map { $_ => xxh128_tag($build{$_}) } keys %build;
    $deploy->('v1');
    my @v1 = map { GET('/digest/site.css')->header('ETag') } 1 .. 30;
    ok t_cmp(join(' ', sort { $a cmp $b } keys %{{ map { $_ => 1 } @v1 }}),
             $tag{v1}, 'first build: its digest, in every child');
    $deploy->('v2');
    my @v2 = map { GET('/digest/site.css')->header('ETag') } 1 .. 30;
    ok t_cmp(join(' ', sort { $a cmp $b } keys %{{ map { $_ => 1 } @v2 }}),
             $tag{v2},
             'second build, same size and mtime: its own digest everywhere');
    ok t_cmp(GET_RC('/digest/site.css', 'If-None-Match' => $tag{v1}), 200,
             'the first build\'s tag gets no 304');
    ok t_cmp(GET_RC('/digest/site.css', 'If-Match' => $tag{v1}), 412,
             'nor passes If-Match');
    unlink $path;
}

# The salt changes every tag of its scope.
my $salted = GET('/salted/a.txt')->header('ETag');
my $plain = tag_of('salted/a.txt');
$plain =~ s/"$//;
ok t_cmp($salted, qr{^\Q$plain\E-[0-9a-f]{16}"$}, 'salt adds a part');
ok t_cmp(GET_RC('/salted/a.txt', 'If-None-Match' => $salted), 304,
         'salted tag revalidates');
ok t_cmp(GET_RC('/salted/a.txt', 'If-None-Match' => tag_of('salted/a.txt')),
         200, 'the unsalted tag does not');

# None and CondCacheLastModified Off: no validators, so nothing matches.
$r = GET '/bare/a.txt';
ok t_cmp($r->header('ETag'), undef, 'CondCacheETag None: no ETag');
ok t_cmp($r->header('Last-Modified'), undef,
         'CondCacheLastModified Off: no Last-Modified');
ok t_cmp(GET_RC('/bare/a.txt', 'If-Modified-Since' => LM_DATE), 200,
         'If-Modified-Since with no Last-Modified is ignored');
ok t_cmp(GET_RC('/bare/a.txt',
                'If-None-Match' => tag_of('bare/a.txt', inode => 1)), 200,
         'the core tag does not match either');
ok t_cmp(note_for(GET => '/bare/a.txt', sub {
             GET_RC('/bare/a.txt', 'If-None-Match' => '"x"') }),
         '200 no-validator', 'note');

# A modification time in the future: Last-Modified is Date (1.5), and the
# tag of a file changed within the last second is weak.
{
    my $future = time + 3600;
    set_mtime('static/future.txt', $future) if -e file_path('static/future.txt')
        or do {
            open my $fh, '>', file_path('static/future.txt') or die $!;
            print $fh "from the future\n";
            close $fh;
            set_mtime('static/future.txt', $future);
        };
    $r = GET '/static/future.txt';
    ok t_cmp($r->header('Last-Modified'), $r->header('Date'),
             'future mtime: Last-Modified = Date');
    ok t_cmp($r->header('ETag'), qr{^W/"}, 'tag of a fresh file is weak');
    ok t_cmp(GET_RC('/static/future.txt', 'If-Match' => $r->header('ETag')),
             412, 'a weak tag never passes If-Match');
    ok t_cmp(GET_RC('/static/future.txt',
                    'If-None-Match' => $r->header('ETag')),
             304, 'but revalidates with If-None-Match');
    my $later = http_date(time + 7200);
    ok t_cmp(GET_RC('/static/future.txt',
                    Range => 'bytes=0-3', 'If-Range' => $r->header('Date')),
             200, 'If-Range date with a Last-Modified that is not strong');
    unlink file_path('static/future.txt');
    ok t_cmp(GET_RC('/static/future.txt', 'If-Modified-Since' => $later),
             404, 'gone: 404, preconditions ignored');
}
