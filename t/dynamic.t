# Validators and 304s for handler output: CondCacheDigest on a CGI, a
# mod_lua handler, mod_include output, compressed responses (mod_deflate,
# mod_brotli) and a proxied backend; docs/conformance.md 1.3, 1.4, 2.3, 4
# and the compression rows of section 6.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use File::Path ();
use lib 't/lib';
use CondCacheTest;

plan tests => 94;

# --- a CGI without validators ----------------------------------------------
my $r = GET '/dyn/hello.sh';
my $body = $r->content;
my $T = $r->header('ETag');
ok t_cmp($r->code, 200, 'CGI: 200');
ok t_cmp($T, digest_tag('text/plain', '', $body),
         'CGI: ETag is the digest of its type and bytes');
ok t_cmp(GET('/dyn/hello.sh')->header('ETag'), $T, 'stable');
my $nm;
ok t_cmp(note_for(GET => '/dyn/hello.sh',
                  sub { $nm = GET '/dyn/hello.sh', 'If-None-Match' => $T }),
         '304 digest-match', 'note: 304 digest-match');
ok t_cmp($nm->code, 304, 'INM with the digest: 304');
ok t_cmp($nm->header('ETag'), $T, '304 carries the ETag');
ok t_cmp(length $nm->content, 0, '304 has no body');
ok t_cmp($nm->header('Content-Length'), undef, '304: no Content-Length');
ok t_cmp(GET_RC('/dyn/hello.sh', 'If-None-Match' => "W/$T"), 304,
         'weak comparison');
ok t_cmp(GET_RC('/dyn/hello.sh', 'If-None-Match' => qq{"x", $T}), 304,
         'a list');
$r = GET '/dyn/hello.sh', 'If-None-Match' => '"x"';
ok t_cmp($r->code, 200, 'INM differs: 200');
ok t_cmp($r->content, $body, 'with the whole body');
ok t_cmp(note_for(GET => '/dyn/hello.sh', sub { GET_RC '/dyn/hello.sh' }),
         '200 digest', 'note: 200 digest');

# If-Match and If-Unmodified-Since go to the digest, not to mod_cgi, which
# would fail If-Match for a script without an ETag (14)
ok t_cmp(GET_RC('/dyn/hello.sh', 'If-Match' => $T), 200,
         'If-Match with the digest: 200');
ok t_cmp(GET_RC('/dyn/hello.sh', 'If-Match' => qq{W/"x", $T}), 200,
         'If-Match with the digest after a weak member: 200');
ok t_cmp(note_for(GET => '/dyn/hello.sh', sub {
             $r = GET '/dyn/hello.sh', 'If-Match' => '"x"' }),
         '412 if-match-failed', 'If-Match with another tag: 412');
ok t_cmp($r->code, 412, 'the 412');
ok t_cmp($r->content, qr/Precondition Failed/, 'with a short body');
ok t_cmp($r->header('ETag'), undef, 'and not the 200\'s tag');
ok t_cmp(GET_RC('/dyn/hello.sh', 'If-Match' => $T,
                'If-Unmodified-Since' => 'Sat, 01 Jan 1994 00:00:00 GMT'),
         200, 'If-Match true wins over an old If-Unmodified-Since (6)');
ok t_cmp(GET_RC('/dyn/tagged.sh',
                'If-Modified-Since' => 'Fri, 31 Dec 9999 23:59:59 GMT'),
         200, 'If-Modified-Since in the year 9999 is ignored (6)');
ok t_cmp(GET_RC('/dyn/tagged.sh', 'If-Modified-Since' => LM_DATE), 304,
         'the application\'s own Last-Modified still revalidates');

# HEAD: the digest only when the whole body was seen, so never another tag
ok t_cmp(HEAD('/dyn/hello.sh')->header('ETag'), $T,
         'HEAD of a CGI, which writes its body: the GET\'s tag');
ok t_cmp(HEAD('/dyn/hello.sh', 'If-None-Match' => $T)->code, 304,
         'HEAD revalidates');
ok t_cmp(GET('/dyn/headless.lua')->header('ETag'),
         digest_tag('text/plain', '', "a body only GET gets\n"),
         'a handler that skips the body on HEAD: GET has the digest');
ok t_cmp(note_for(HEAD => '/dyn/headless.lua', sub {
             $r = HEAD '/dyn/headless.lua' }),
         'pass head-no-body', 'its HEAD: no body seen');
ok t_cmp($r->header('ETag'), undef, 'so no tag, rather than another one');

# unsafe methods: the filter never answers after the handler ran (2.3)
$r = POST '/dyn/hello.sh', 'If-Match' => '"x"', content => 'a=b';
ok t_cmp($r->code, 200, 'POST with a failing If-Match: no fake 412');
ok t_cmp(POST_RC('/dyn/hello.sh', 'If-None-Match' => $T, content => 'a=b'),
         200, 'POST with a matching If-None-Match: no fake 304');

# Range against the ETag the module sent
$r = GET '/dyn/hello.sh', Range => 'bytes=0-9', 'If-Range' => $T;
ok t_cmp($r->code, 206, 'If-Range with the digest tag: 206');
ok t_cmp($r->content, substr($body, 0, 10), 'the range');
ok t_cmp(GET_RC('/dyn/hello.sh', Range => 'bytes=0-9', 'If-Range' => '"x"'),
         200, 'If-Range with another tag: 200');

# what passes through
$r = GET '/dyn/big.sh?mb=1';
ok t_cmp(length $r->content, 1024 * 1024, 'over CondCacheDigestMaxSize: whole');
ok t_cmp($r->header('ETag'), undef, 'and no ETag');
ok t_cmp(note_for(GET => '/dyn/big.sh', sub { GET_RC '/dyn/big.sh?mb=1' }),
         'pass too-large', 'note: pass too-large');
$r = GET '/dyn/fail.sh', 'If-None-Match' => '*';
ok t_cmp($r->code, 500, 'a 500 stays a 500');
ok t_cmp($r->header('ETag'), undef, 'without an ETag');
ok t_cmp(GET('/dyn/off/hello.sh')->header('ETag'), undef,
         'CondCacheDigest Off: no ETag');

# --- the application's own validators ---------------------------------------
$r = GET '/dyn/tagged.sh';
ok t_cmp($r->header('ETag'), '"app-v1"', 'On: the application\'s tag stays');
$r = GET '/dyn/tagged.sh', 'If-None-Match' => '"app-v1"';
ok t_cmp($r->code, 304, 'and is honoured');
ok t_cmp($r->header('ETag'), '"app-v1"', '304 with it');
ok t_cmp(GET_RC('/dyn/tagged.sh', 'If-Modified-Since' => LM_DATE), 304,
         'the application\'s Last-Modified is honoured');
$r = GET '/dyn/override/tagged.sh';
ok t_cmp($r->header('ETag'),
         digest_tag('text/plain', '', "tagged by the application\n"),
         'Override: the digest replaces it');
ok t_cmp(GET_RC('/dyn/override/tagged.sh', 'If-None-Match' => '"app-v1"'),
         200, 'Override: the application\'s tag no longer matches');

# --- mod_lua, in several brigades, with and without FLUSH --------------------
$r = GET '/dyn/parts.lua';
my $LT = $r->header('ETag');
ok t_cmp($LT, digest_tag('text/plain', '', $r->content),
         'mod_lua: digest of the whole output');
ok t_cmp(length $r->content > 8192 ? 1 : 0, 1, 'more than one brigade');
ok t_cmp(GET_RC('/dyn/parts.lua', 'If-None-Match' => $LT), 304,
         'mod_lua: 304');
$r = GET '/dyn/parts.lua?flush=1';
ok t_cmp($r->header('ETag'), undef, 'FLUSH: streamed, no ETag');
ok t_cmp(length $r->content, length GET('/dyn/parts.lua')->content,
         'FLUSH: the whole body');
ok t_cmp(note_for(GET => '/dyn/parts.lua',
                  sub { GET_RC '/dyn/parts.lua?flush=1' }),
         'pass flush', 'note: pass flush');

# --- mod_include -----------------------------------------------------------
$r = GET '/dyn/page.shtml';
ok t_cmp($r->header('ETag'),
         digest_tag('text/html', '', "<p>included text\n</p>\n"),
         'SSI output: its digest');
ok t_cmp(GET_RC('/dyn/page.shtml', 'If-None-Match' => $r->header('ETag')),
         304, 'SSI output: 304');

# --- compression: dynamic ---------------------------------------------------
for my $c (['gz', 'gzip'], ['br', 'br']) {
    my ($dir, $coding) = @$c;
    my $id = GET "/dyn/$dir/hello.sh";
    my $z = GET "/dyn/$dir/hello.sh", 'Accept-Encoding' => $coding;
    ok t_cmp($z->header('Content-Encoding'), $coding, "$coding: compressed");
    ok t_cmp($z->header('ETag'),
             digest_tag('text/plain', $coding, $z->content),
             "$coding: digest of the compressed bytes and the coding");
    ok t_cmp($z->header('ETag') ne $id->header('ETag') ? 1 : 0, 1,
             "$coding and identity never share a strong tag");
    my $nz = GET "/dyn/$dir/hello.sh", 'Accept-Encoding' => $coding,
                 'If-None-Match' => $z->header('ETag');
    ok t_cmp($nz->code, 304, "$coding: revalidates with its tag");
    ok t_cmp($nz->header('ETag'), $z->header('ETag'), "$coding: same ETag");
    ok t_cmp($nz->header('Vary'), $z->header('Vary'),
             "$coding: same Vary (" . ($z->header('Vary') // '') . ')');
    ok t_cmp(GET_RC("/dyn/$dir/hello.sh", 'Accept-Encoding' => $coding,
                    'If-None-Match' => $id->header('ETag')),
             200, "$coding: the identity tag is another representation");
}

# --- compression: static files (6: "-gzip" tags, 304 after compression) ----
set_mtime('gz/big.txt');
set_mtime('gz/static-br/big.txt');
for my $c (['/gz/big.txt', 'gzip'], ['/gz/static-br/big.txt', 'br']) {
    my ($url, $coding) = @$c;
    my $z = GET $url, 'Accept-Encoding' => $coding;
    my $zt = $z->header('ETag');
    ok t_cmp($zt, qr/-\Q$coding\E"$/, "static $coding: suffixed tag $zt");
    my $nz = GET $url, 'Accept-Encoding' => $coding, 'If-None-Match' => $zt;
    ok t_cmp($nz->code, 304, "static $coding: revalidates with its tag");
    ok t_cmp($nz->header('ETag'), $zt, "static $coding: same ETag on the 304");
    ok t_cmp($nz->header('Vary'), $z->header('Vary'),
             "static $coding: same Vary on the 304");
}
{
    my $id = GET '/gz/big.txt';
    my $nm = GET '/gz/big.txt', 'If-None-Match' => $id->header('ETag');
    ok t_cmp($nm->code, 304, 'static identity: 304');
    ok t_cmp($nm->header('Vary'), $id->header('Vary'),
             'static identity: same Vary as its 200');
}

# --- 304s on a persistent connection ------------------------------------------
# Both 304s of the last filter (the digest's, and the one after mod_deflate)
# go out as soon as their EOS is down: pipelined behind each other and
# before a 200, each must be a whole response with no body of its own.
{
    my $zt = GET('/gz/big.txt', 'Accept-Encoding' => 'gzip')->header('ETag');
    my $sock = Apache::TestRequest::vhost_socket();
    my $host = Apache::TestRequest::hostport();
    print $sock "GET /dyn/hello.sh HTTP/1.1\r\nHost: $host\r\n"
              . "If-None-Match: $T\r\n\r\n"
              . "GET /gz/big.txt HTTP/1.1\r\nHost: $host\r\n"
              . "Accept-Encoding: gzip\r\nIf-None-Match: $zt\r\n\r\n"
              . "GET /dyn/hello.sh HTTP/1.1\r\nHost: $host\r\n"
              . "Connection: close\r\n\r\n";
    my $wire = read_to_end($sock);
    my @status = $wire =~ m{^HTTP/1\.1 (\d{3})}mg;
    ok t_cmp("@status", '304 304 200',
             'pipelined: 304, 304, 200, in order');
    my $whole = $wire =~ m{\A HTTP/1\.1\x20304\x20 .*? \r\n\r\n
                              HTTP/1\.1\x20304\x20 .*? \r\n\r\n
                              HTTP/1\.1\x20200\x20}sx;
    ok t_cmp($whole ? 'whole' : 'broken', 'whole',
             'pipelined: each 304 ends at its header section');
    ok t_cmp(($wire =~ m{HTTP/1\.1 200 .*?\r\n\r\n(.*)\z}s)[0], $body,
             'pipelined: the 200 after them, with its body');
}

# --- a proxied backend ------------------------------------------------------
{
    my $old = Apache::TestRequest::module('condcache_proxy');
    my $p = GET '/app/hello.sh';
    ok t_cmp($p->content, $body, 'proxied: the backend\'s body');
    ok t_cmp($p->header('ETag'), $T, 'proxied: the same digest as direct');
    ok t_cmp(GET_RC('/app/hello.sh', 'If-None-Match' => $T), 304,
             'proxied: 304');

    # a range of a proxied file larger than the digest's limit (a video
    # seeked into): the backend's 206, as without the module
    my $big = join '', map { sprintf "%07d\n", $_ } 0 .. 262_143;   # 2 MiB
    my $path = file_path('backend/big.txt');
    open my $fh, '>', $path or die "$path: $!";
    print $fh $big;
    close $fh;
    set_mtime('backend/big.txt');            # a strong tag, long unchanged
    my $bt = GET('/backend/big.txt')->header('ETag');     # the backend's
    my $rr;
    ok t_cmp(note_for(GET => '/app/big.txt', sub {
                 $rr = GET '/app/big.txt', Range => 'bytes=800000-800015' }),
             'pass range', 'proxied Range: left to the backend');
    ok t_cmp($rr->code, 206, 'proxied Range, 2 MiB: 206');
    ok t_cmp($rr->content, substr($big, 800_000, 16), 'the range');
    $rr = GET '/app/big.txt', Range => 'bytes=0-7', 'If-Range' => $bt;
    ok t_cmp($rr->code, 206, 'with the backend\'s tag in If-Range: 206');
    $rr = GET '/app/big.txt', Range => 'bytes=0-7', 'If-Range' => '"x"';
    ok t_cmp($rr->code, 200, 'with another tag: the whole 200');
    ok t_cmp(length $rr->content, length $big, 'all of it');
    unlink $path;
    Apache::TestRequest::module($old);
}

# --- mod_cache in front -------------------------------------------------------
{
    # an empty CacheRoot for this run (mod_cache_disk makes what is below)
    my $root = Apache::Test::vars('t_logs') . '/cache';
    File::Path::remove_tree($root);
    mkdir $root or die "$root: $!";
    my $first = GET '/dyn/cached/hello.sh';
    my $ct = $first->header('ETag');
    ok t_cmp($ct, digest_tag('text/plain', '', $first->content),
             'mod_cache: the 200 it stores has the digest tag');
    my $again = GET '/dyn/cached/hello.sh';
    ok t_cmp($again->header('X-Cache') // '', qr/HIT/,
             'mod_cache: served from the cache');
    ok t_cmp($again->header('ETag'), $ct, 'mod_cache: with the stored tag');
    ok t_cmp($again->content, $first->content, 'mod_cache: the whole body');
    my $c304 = GET '/dyn/cached/hello.sh', 'If-None-Match' => $ct;
    ok t_cmp($c304->code, 304, 'mod_cache: 304 from the stored 200');
    ok t_cmp($c304->header('ETag'), $ct, 'mod_cache: 304 with its tag');
}
