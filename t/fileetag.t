# The module as a drop-in for FileETag: where no CondCacheETag applies, a
# file's tag has the components the scope's FileETag names (each form, the
# + and - forms relative to the parent's, None), evaluated by the module;
# a CondCacheETag in an enclosing scope wins over a child's FileETag.
use strict;
use warnings FATAL => 'all';

use Apache::Test;
use Apache::TestRequest;
use Apache::TestUtil;
use lib 't/lib';
use CondCacheTest;

# [ directory, the FileETag (or CondCacheETag) that applies, components ]
my @forms = (
    [ 'default',     'no FileETag: httpd\'s default',     'size mtime' ],
    [ 'all',         'FileETag All',                      'inode size mtime' ],
    [ 'inode',       'FileETag INode',                    'inode' ],
    [ 'mtime',       'FileETag MTime',                    'mtime' ],
    [ 'size',        'FileETag Size',                     'size' ],
    [ 'inode_mtime', 'FileETag INode MTime',              'inode mtime' ],
    [ 'rel',         'FileETag MTime',                    'mtime' ],
    [ 'rel/minus',   'FileETag +Size -MTime over MTime',  'size' ],
    [ 'rel/plus',    'FileETag +INode over MTime',        'inode mtime' ],
    [ 'cc',          'CondCacheETag Size',                'size' ],
    [ 'cc/all',      'a parent\'s CondCacheETag Size over FileETag All',
                                                          'size' ],
    [ 'cc/none',     'a parent\'s CondCacheETag Size over FileETag None',
                                                          'size' ],
    [ 'ccrel/size',  'a parent\'s CondCacheETag +INode over FileETag Size',
                                                          'inode size' ],
);

plan tests => 3 * @forms + 6;

for my $f (@forms) {
    my ($dir, $what, $parts) = @$f;
    my %has = map { $_ => 1 } split ' ', $parts;
    my $rel = "fileetag/$dir/a.txt";
    set_mtime($rel);
    my $want = tag_of($rel, inode => $has{inode}, no_size => !$has{size},
                      no_mtime => !$has{mtime});
    my $r = GET "/$rel";
    ok t_cmp($r->header('ETag'), $want, "$what: $parts");
    ok t_cmp(GET_RC("/$rel", 'If-None-Match' => $want), 304,
             "$what: the tag revalidates");
    ok t_cmp(GET_RC("/$rel", 'If-Match' => qq{"x", $want}), 200,
             "$what: and passes If-Match, by the module's rules");
}

# None: no tag, and the preconditions are evaluated as for a response
# without one
set_mtime('fileetag/none/a.txt');
my $r = GET '/fileetag/none/a.txt';
ok t_cmp($r->header('ETag'), undef, 'FileETag None: no ETag');
ok t_cmp($r->header('Last-Modified'), LM_DATE, 'but Last-Modified');
ok t_cmp(GET_RC('/fileetag/none/a.txt',
                'If-None-Match' => tag_of('fileetag/none/a.txt')), 200,
         'None: no tag matches If-None-Match');
ok t_cmp(GET_RC('/fileetag/none/a.txt', 'If-None-Match' => '*'), 304,
         'None: If-None-Match * still finds the file');
ok t_cmp(GET_RC('/fileetag/none/a.txt', 'If-Match' => '"x"'), 412,
         'None: If-Match with a tag fails: there is none');
ok t_cmp(GET_RC('/fileetag/none/a.txt', 'If-Modified-Since' => LM_DATE), 304,
         'None: If-Modified-Since on the Last-Modified');
