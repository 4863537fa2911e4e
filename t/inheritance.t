# Every directive through <Directory>, <Location> and .htaccess: a child
# scope inherits what it does not set; CondCacheETag +/- change the
# parent's list as FileETag does.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

plan tests => 17;

# XXH3-64 of the salts (xxhsum -H3)
my %salt = (parent => '795491fe5b7fba3a', location => 'e38439375e8107ff',
            vhost => '4275a06bde38a88d');

my @files = qw(a child/a child/grandchild/a off/a loc/a ht/a noht/a
               files/size files/other);
my %st;
for my $f (@files) {
    set_mtime("inherit/$f.txt");
    my @s = stat file_path("inherit/$f.txt");
    $st{$f} = { ino => sprintf('%x', $s[1]), size => sprintf('%x', $s[7]),
                mtime => sprintf('%x', $s[9] * 1_000_000) };
}
sub tag { '"' . join('-', @_) . '"' }

my $r = GET '/inherit/a.txt';
ok t_cmp($r->header('ETag'),
         tag(@{$st{a}}{qw(ino mtime)}, $salt{parent}),
         '<Directory>: INode MTime, salted');
ok t_cmp($r->header('Last-Modified'), LM_DATE, 'Last-Modified on');

ok t_cmp(GET('/inherit/child/a.txt')->header('ETag'),
         tag(@{$st{'child/a'}}{qw(size mtime)}, $salt{parent}),
         'child <Directory>: +Size -INode, salt inherited');
ok t_cmp(GET('/inherit/child/grandchild/a.txt')->header('ETag'),
         tag($st{'child/grandchild/a'}{size}, $salt{parent}),
         'grandchild: -MTime on top of the child\'s list');

$r = GET '/inherit/off/a.txt';
ok t_cmp($r->header('ETag'),
         tag(@{$st{'off/a'}}{qw(ino size mtime)}),
         'CondCache Off in a child: the core tag');
ok t_cmp(note_for(GET => '/inherit/off/a.txt',
                  sub { GET_RC '/inherit/off/a.txt' }), undef, 'and no note');

$r = GET '/inherit/loc/a.txt';
ok t_cmp($r->header('ETag'),
         tag(@{$st{'loc/a'}}{qw(ino mtime)}, $salt{location}),
         '<Location>: its salt over the directory\'s');
ok t_cmp($r->header('Last-Modified'), undef,
         '<Location>: CondCacheLastModified Off');
ok t_cmp(GET_RC('/inherit/loc/a.txt', 'If-Modified-Since' => LM_DATE), 200,
         'no Last-Modified: IMS cannot give a 304');

ok t_cmp(GET('/inherit/ht/a.txt')->header('ETag'),
         tag($st{'ht/a'}{size}, $salt{parent}),
         '.htaccess: CondCacheETag Size, salt inherited');
ok t_cmp(GET('/inherit/noht/a.txt')->header('ETag'),
         tag(@{$st{'noht/a'}}{qw(ino mtime)}, $salt{parent}),
         'AllowOverride None: .htaccess ignored');
ok t_cmp(GET_RC('/inherit/ht/a.txt',
                'If-None-Match' => tag($st{'ht/a'}{size}, $salt{parent})),
         304, '.htaccess scope revalidates');

# <Files> inside a <Directory>
ok t_cmp(GET('/inherit/files/size.txt')->header('ETag'),
         tag($st{'files/size'}{size}, $salt{parent}),
         '<Files>: CondCacheETag Size');
ok t_cmp(GET('/inherit/files/other.txt')->header('ETag'),
         tag(@{$st{'files/other'}}{qw(ino mtime)}, $salt{parent}),
         'a sibling outside <Files> keeps the directory\'s');

# <VirtualHost>: on for the whole host; the main server is off there.
set_mtime('plain/a.txt');
my @s = stat file_path('plain/a.txt');
my ($size, $mtime, $ino) = (sprintf('%x', $s[7]),
                            sprintf('%x', $s[9] * 1_000_000),
                            sprintf('%x', $s[1]));
ok t_cmp(GET('/plain/a.txt')->header('ETag'), tag($size, $mtime),
         'main server, no scope turns it on: the core tag (its default)');
{
    my $old = Apache::TestRequest::module('condcache_vhost');
    ok t_cmp(GET('/plain/a.txt')->header('ETag'),
             tag($size, $mtime, $salt{vhost}),
             '<VirtualHost>: on, with its salt');
    ok t_cmp(GET('/inherit/child/grandchild/a.txt')->header('ETag'),
             tag($st{'child/grandchild/a'}{size}, $salt{parent}),
             '<Directory> inside the host beats the host\'s salt');
    Apache::TestRequest::module($old);
}
