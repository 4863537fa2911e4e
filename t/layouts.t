# Files on the configurations administrators really have: is the response
# the file's bytes, and may the file's validators answer for it?  SSI by
# media type (.htaccess) and by XBitHack, an Action for a media type, a
# path after a file name, an unreadable file, MultiViews, Debian's
# AddOutputFilterByType DEFLATE through mod_filter, a file already gzip
# (AddEncoding) under such a rule; docs/conformance.md 1.3,
# 2.1, 2.2, 3.5 and the rows of section 6 on SSI and If-Range.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

plan tests => 91;

sub write_file {
    my ($rel, $text) = @_;
    my $path = file_path($rel);
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
}

my $etag_re = qr{^(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"$};

# --- SSI by media type, from .htaccess ------------------------------------
# mod_include's output is made per request: no tag of the source file, and
# no 304 for it, whatever the source file's validators (stock: the same).
write_file('ssitype/part.txt', "part one\n");
set_mtime('ssitype/page.html');
my $T = tag_of('ssitype/page.html');
my $r = GET '/ssitype/page.html';
ok t_cmp($r->content, qr{<p>part one\n</p>}, 'SSI by type: the include ran');
ok t_cmp($r->header('ETag'), undef, 'SSI by type: no file tag on the output');
write_file('ssitype/part.txt', "part two\n");
$r = GET '/ssitype/page.html', 'If-None-Match' => $T;
ok t_cmp($r->code, 200, 'SSI by type: the file\'s tag gets no 304 (6)');
ok t_cmp($r->content, qr/part two/, 'with the changed include');
ok t_cmp(GET_RC('/ssitype/page.html', 'If-Modified-Since' => LM_DATE), 200,
         'SSI by type: nor the file\'s time');
ok t_cmp(GET_RC('/ssitype/page.html', 'If-None-Match' => '*'), 200,
         'SSI by type: no 304 at all, as mod_include asks');
# (the include as the tree has it)
write_file('ssitype/part.txt', "part one\n");

# mod_include's filter, added by type, asks for no 304 for every response
# of the scope (its init runs whatever the type): an image too, as stock
set_mtime('ssitype/img.png');
$r = GET '/ssitype/img.png', 'If-None-Match' => tag_of('ssitype/img.png');
ok t_cmp($r->code, 200, 'SSI by type: an image of the scope, no 304 either');
ok t_cmp($r->header('ETag'), undef, 'and no tag');

# --- a filter that changes one type's bytes (mod_substitute by type) --------
set_mtime('subst/a.txt');
set_mtime('subst/img.png');
$r = GET '/subst/a.txt', 'If-None-Match' => tag_of('subst/a.txt');
ok t_cmp($r->code, 200, 'SUBSTITUTE: the file\'s tag gets no 304');
ok t_cmp($r->content, "the dog sat\n", 'the bytes are changed');
ok t_cmp($r->header('ETag'), undef, 'and carry no file tag');
# a transformation made the same way every time keeps the file's time, as
# in stock httpd (mod_include removes it from its own output)
ok t_cmp($r->header('Last-Modified'), LM_DATE, 'but the file\'s time');
ok t_cmp(GET_RC('/subst/a.txt', 'If-Modified-Since' => LM_DATE), 304,
         'which If-Modified-Since is answered on');
$r = GET '/subst/img.png';
ok t_cmp($r->header('ETag'), tag_of('subst/img.png'),
         'SUBSTITUTE is for text/plain: an image keeps its tag');
ok t_cmp(GET_RC('/subst/img.png', 'If-None-Match' => tag_of('subst/img.png')),
         304, 'and its 304');

# --- XBitHack ---------------------------------------------------------------
chmod 0755, file_path('xbit/page.html');
chmod 0644, file_path('xbit/plain.html');
set_mtime('xbit/page.html');
set_mtime('xbit/plain.html');
$r = GET '/xbit/page.html', 'If-None-Match' => tag_of('xbit/page.html');
ok t_cmp($r->code, 200, 'XBitHack: the executable page\'s tag gets no 304');
ok t_cmp($r->content, qr{<p>part one\n</p>}, 'XBitHack: parsed');
ok t_cmp($r->header('ETag'), undef, 'XBitHack: no file tag');
$r = GET '/xbit/plain.html';
ok t_cmp($r->header('ETag'), tag_of('xbit/plain.html'),
         'XBitHack: a page without x bit is a file, with its tag');
ok t_cmp(GET_RC('/xbit/plain.html',
                'If-None-Match' => tag_of('xbit/plain.html')), 304,
         'and its 304');

# --- an Action for the media type ---------------------------------------------
set_mtime('action/a.txt');
$r = GET '/action/a.txt', 'If-None-Match' => tag_of('action/a.txt');
ok t_cmp($r->code, 200, 'Action by type: the file\'s tag gets no 304');
ok t_cmp($r->content, "wrapped /action/a.txt\n", 'the script ran');
$r = GET '/action/a.txt', 'If-Modified-Since' => LM_DATE;
ok t_cmp($r->code, 200, 'Action by type: nor the file\'s time');
ok t_cmp($r->content, qr/^wrapped/, 'the script ran again');

# --- a path after the file name ---------------------------------------------
set_mtime('static/a.txt');
my $A = tag_of('static/a.txt');
for my $h (['If-None-Match' => '*'], ['If-None-Match' => $A],
           ['If-Modified-Since' => LM_DATE], ['If-Match' => '"x"'], []) {
    ok t_cmp(GET_RC('/static/a.txt/extra', @$h), 404,
             "path info rejected (the default): 404 (@$h)");
}
set_mtime('pathinfo/a.txt');
$r = GET '/pathinfo/a.txt/extra';
ok t_cmp($r->code, 200, 'AcceptPathInfo On: the file');
ok t_cmp($r->header('ETag'), tag_of('pathinfo/a.txt'), 'with its tag');
ok t_cmp(GET_RC('/pathinfo/a.txt/extra',
                'If-None-Match' => tag_of('pathinfo/a.txt')), 304,
         'AcceptPathInfo On: and its 304');

# --- a file the server cannot read ------------------------------------------------
write_file('static/noread.txt', "not for you\n");
set_mtime('static/noread.txt');
chmod 0, file_path('static/noread.txt');
for my $h (['If-None-Match' => '*'], ['If-Modified-Since' => LM_DATE],
           ['If-Match' => '"x"'],
           ['If-Unmodified-Since' => 'Sat, 01 Jan 1994 00:00:00 GMT'],
           ['If-None-Match' => tag_of('static/noread.txt')]) {
    $r = GET '/static/noread.txt', @$h;
    ok t_cmp($r->code, 403, "unreadable: 403 (@$h)");
}
ok t_cmp($r->header('ETag'), undef, 'unreadable: the 403 tells no tag');
chmod 0644, file_path('static/noread.txt');
unlink file_path('static/noread.txt');

# --- MultiViews: two variants of the same size and time ------------------------
set_mtime('neg/index.html.en');
set_mtime('neg/index.html.fr');
# a plain file first, with httpd's own tag (the unconditional shortcut)
GET_RC '/same/a.txt' for 1 .. 3;
my $en = GET '/neg/index.html', 'Accept-Language' => 'en';
my $fr = GET '/neg/index.html', 'Accept-Language' => 'fr';
my $ET = $en->header('ETag');
my $FT = $fr->header('ETag');
ok t_cmp($en->content, qr/english/, 'MultiViews: en');
ok t_cmp($fr->content, qr/french/, 'MultiViews: fr');
ok t_cmp($ET, $etag_re, "en tag is well-formed: $ET");
ok t_cmp($FT, $etag_re, "fr tag is well-formed: $FT");
ok t_cmp($ET ne $FT ? 1 : 0, 1, 'the variants have tags of their own');
ok t_cmp(GET('/neg/index.html', 'Accept-Language' => 'en')->header('ETag'),
         $ET, 'the en tag is stable');
$r = GET '/neg/index.html', 'Accept-Language' => 'en',
         'If-None-Match' => '"x"';
ok t_cmp($r->header('ETag'), $ET, 'a conditional 200 has the same tag');
$r = GET '/neg/index.html', 'Accept-Language' => 'en', 'If-None-Match' => $ET;
ok t_cmp($r->code, 304, 'en revalidates with its 200\'s tag');
ok t_cmp($r->header('ETag'), $ET, 'the 304 has that tag');
ok t_cmp($r->header('Vary') // '', qr/accept-language/i,
         'and the 200\'s Vary');
$r = GET '/neg/index.html', 'Accept-Language' => 'fr', 'If-None-Match' => $ET;
ok t_cmp($r->code, 200, 'fr never gets a 304 for the en tag');
ok t_cmp($r->content, qr/french/, 'fr gets its page');

# --- Debian's layout: AddOutputFilterByType DEFLATE through mod_filter -------
set_mtime('deb/img.png');
set_mtime('deb/page.html');
my $P = tag_of('deb/img.png');
$r = GET '/deb/img.png', 'Accept-Encoding' => 'gzip';
ok t_cmp($r->header('ETag'), $P, 'an image: the file\'s tag');
ok t_cmp($r->header('Content-Encoding'), undef, 'not compressed');
ok t_cmp($r->header('Vary'), undef, 'and no Vary: DEFLATE is not for it');
ok t_cmp(note_for(GET => '/deb/img.png', sub {
             $r = GET '/deb/img.png', 'If-None-Match' => $P }),
         '304 inm-weak-match', 'an image: 304 decided before the handler');
ok t_cmp($r->code, 304, 'the 304');
ok t_cmp(note_for(GET => '/deb/img.png', sub {
             GET_RC '/deb/img.png', 'If-Match' => '*' }),
         '200 if-match-true', 'If-Match * is noted as what it was');
ok t_cmp(note_for(GET => '/deb/img.png', sub {
             $r = GET '/deb/img.png', Range => 'bytes=0-9',
                      'If-Range' => '"x"' }),
         '200 if-range-false', 'a failing If-Range is noted');
ok t_cmp($r->code, 200, 'and gets the whole image');
ok t_cmp(length $r->content, 300, '300 bytes');
ok t_cmp(note_for(GET => '/deb/img.png', sub {
             $r = GET '/deb/img.png', Range => 'bytes=0-9', 'If-Range' => $P }),
         '200 if-range-true', 'a true If-Range is noted');
ok t_cmp($r->code, 206, 'and gets its range');

# a page DEFLATE compresses: the decision is on the "-gzip" tag
my $H = tag_of('deb/page.html');
(my $G = $H) =~ s/"$/-gzip"/;
my $z = GET '/deb/page.html', 'Accept-Encoding' => 'gzip';
ok t_cmp($z->header('Content-Encoding'), 'gzip', 'a page: compressed');
ok t_cmp($z->header('ETag'), $G, 'with the file\'s tag and -gzip');
ok t_cmp(note_for(GET => '/deb/page.html', sub {
             $r = GET '/deb/page.html', 'Accept-Encoding' => 'gzip',
                      'If-None-Match' => $G }),
         '304 inm-weak-match', 'a page: 304 on the -gzip tag');
ok t_cmp($r->header('Vary'), $z->header('Vary'), 'with the 200\'s Vary');
ok t_cmp(note_for(GET => '/deb/page.html', sub {
             $r = GET '/deb/page.html', 'Accept-Encoding' => 'gzip',
                      'If-Match' => $G }),
         '200 if-match-true', 'If-Match with the -gzip tag holds (14)');
ok t_cmp($r->code, 200, 'and the page is sent');
ok t_cmp(GET_RC('/deb/page.html', 'Accept-Encoding' => 'gzip',
                'If-Match' => $H), 412,
         'If-Match with the identity tag fails on the gzip response');
$r = GET '/deb/page.html', 'If-Match' => $H;
ok t_cmp($r->code, 200, 'and holds on the identity response');
ok t_cmp($r->header('ETag'), $H, 'which has the identity tag');

# If-Range is compared with the tag of the response it would cut (4)
$r = GET '/deb/page.html', 'Accept-Encoding' => 'gzip',
         Range => 'bytes=0-19', 'If-Range' => $H;
ok t_cmp($r->code, 200, 'If-Range with the identity tag on a gzip response: '
                        . 'the whole 200');
ok t_cmp($r->content, $z->content, 'all of the gzip body');
ok t_cmp($r->header('Content-Range'), undef, 'no Content-Range');
$r = HEAD '/deb/page.html', 'Accept-Encoding' => 'gzip',
          Range => 'bytes=0-19', 'If-Range' => $H;
ok t_cmp($r->code, 200, 'and HEAD, as GET: 200');
ok t_cmp($r->header('Content-Range'), undef, 'no Content-Range');
$r = HEAD '/deb/page.html', 'Accept-Encoding' => 'gzip',
          Range => 'bytes=0-19', 'If-Range' => $G;
ok t_cmp($r->code, 206, 'HEAD, If-Range with the -gzip tag: 206, as GET');
$r = GET '/deb/page.html', 'Accept-Encoding' => 'gzip',
         Range => 'bytes=0-19', 'If-Range' => $G;
ok t_cmp($r->code, 206, 'If-Range with the -gzip tag: 206');
ok t_cmp($r->content, substr($z->content, 0, 20), 'of the gzip bytes');
$r = GET '/deb/page.html', Range => 'bytes=0-19', 'If-Range' => $H;
ok t_cmp($r->code, 206, 'If-Range with the identity tag, identity: 206');
ok t_cmp($r->content, '<p>line 1 of a page ', 'of the file\'s bytes');

# --- a file already compressed, under a DEFLATE rule for its type ------------
# mod_mime's AddEncoding makes it gzip before mod_deflate, which leaves it
# alone; a 412 is httpd's HTML, not gzip, wherever it is decided: before
# the handler, or (under CondCacheDigest Override, in dig/) in the last
# filter
set_mtime('precoded/notes.txt.gz');
set_mtime('precoded/dig/notes.txt.gz');
my $Z = tag_of('precoded/notes.txt.gz');
my $gz = do {
    open my $fh, '<:raw', file_path('precoded/notes.txt.gz') or die $!;
    local $/;
    <$fh>;
};
$r = GET '/precoded/notes.txt.gz', 'Accept-Encoding' => 'gzip';
ok t_cmp($r->header('Content-Encoding'), 'gzip', 'a .gz file: sent as gzip');
ok t_cmp($r->content, $gz, 'its own bytes');
ok t_cmp($r->header('ETag'), $Z, 'with the file\'s tag');
ok t_cmp(GET_RC('/precoded/notes.txt.gz', 'Accept-Encoding' => 'gzip',
                'If-None-Match' => $Z), 304, 'its own tag: 304');
for my $url ('/precoded/notes.txt.gz', '/precoded/dig/notes.txt.gz') {
    $r = GET $url, 'Accept-Encoding' => 'gzip', 'If-Match' => '"x"';
    ok t_cmp($r->code, 412, "$url, If-Match with another tag: 412");
    ok t_cmp($r->header('Content-Encoding'), undef,
             'the 412 is not labelled gzip');
    ok t_cmp($r->content, qr/Precondition Failed/, 'its body is HTML');
}
my $D = GET('/precoded/dig/notes.txt.gz',
            'Accept-Encoding' => 'gzip')->header('ETag');
ok t_cmp(GET_RC('/precoded/dig/notes.txt.gz', 'Accept-Encoding' => 'gzip',
                'If-None-Match' => $D), 304, 'dig/: its digest tag: 304');
