#!/usr/bin/env python3
"""Tests of .ci/check-notes on small planted trees (temporary folders, not git checkouts)."""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '.ci', 'check-notes')

HEADING = '''\
// Note [Tree sums]
// Partial sums are added in a fixed tree, so the bits do not depend on the thread count.
int sum();
'''


class CheckNotesTest(unittest.TestCase):
    def run_on(self, files):
        with tempfile.TemporaryDirectory() as root:
            for path, text in files.items():
                os.makedirs(os.path.join(root, os.path.dirname(path)), exist_ok=True)
                with open(os.path.join(root, path), 'w') as f:
                    f.write(textwrap.dedent(text))
            r = subprocess.run([sys.executable, CHECKER, root], capture_output=True, text=True)
            return r.returncode, r.stdout + r.stderr

    def test_references_to_one_heading_pass(self):
        code, out = self.run_on({
            'core/sum.hpp': HEADING,
            'core/sum.cpp': 'int sum() { return 0; }  // Note [Tree sums]\n',
            'docs.md': 'Sums are ordered (Note [Tree\nsums]), see above.\n',
            'io/read.cpp': '// Read in order (see Note [Tree sums]): the\n// bits depend on nothing else.\n',
        })
        self.assertEqual(code, 0, out)
        self.assertIn('3 references to 1 Notes', out)

    def test_dangling_reference_names_file_and_line(self):
        code, out = self.run_on({
            'core/sum.hpp': HEADING,
            'core/sum.cpp': '#include "core/sum.hpp"\n\n// As Note [Tree sum] says.\nint x;\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn('core/sum.cpp:3: Note [Tree sum] is referenced but no heading defines it', out)

    def test_duplicate_heading_names_both_places(self):
        code, out = self.run_on({
            'core/sum.hpp': HEADING,
            'io/other.hpp': 'int a;\n' + HEADING,
        })
        self.assertEqual(code, 1, out)
        self.assertIn('Note [Tree sums] has 2 headings, expected one: core/sum.hpp:1, io/other.hpp:2', out)

    def test_wrapped_reference_is_resolved_and_checked(self):
        code, out = self.run_on({
            'core/sum.hpp': HEADING,
            'core/use.cpp': '// Epochs follow the order of (Note [Tree\n// sum]).\n',
        })
        self.assertEqual(code, 1, out)
        self.assertIn('core/use.cpp:1: Note [Tree sum] is referenced', out)

    def test_a_note_line_followed_by_code_is_a_reference(self):
        code, out = self.run_on({'apps/main.cpp': '  // Note [Out of memory]\n  return 1;\n'})
        self.assertEqual(code, 1, out)
        self.assertIn('apps/main.cpp:1: Note [Out of memory] is referenced but no heading', out)

    def test_unclosed_reference_is_reported(self):
        code, out = self.run_on({'core/a.cpp': '// See Note [Tree sums\n\nint a;\n'})
        self.assertEqual(code, 1, out)
        self.assertIn('core/a.cpp:1: "Note [" without its closing "]"', out)

    def test_core_index_lists_each_core_note(self):
        readme = '# core\n\n## Notes, by file\n\n| Note | where |\n|---|---|\n| {} | `sum.hpp` |\n'
        code, out = self.run_on({'core/sum.hpp': HEADING, 'core/README.md': readme.format('Tree sums')})
        self.assertEqual(code, 0, out)
        code, out = self.run_on({'core/sum.hpp': HEADING, 'core/README.md': readme.format('Winograd F(2x2, 3x3)')})
        self.assertEqual(code, 1, out)
        self.assertIn('core/sum.hpp:1: Note [Tree sums] is not in the "Notes, by file" table of core/README.md', out)
        self.assertIn('core/README.md:7: the Notes index names "Winograd F(2x2, 3x3)"', out)


if __name__ == '__main__':
    unittest.main()
