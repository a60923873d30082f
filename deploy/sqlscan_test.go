package deploy_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sqlArg is the position of the SQL text (or table identifier) in the
// pgx methods that send it to Postgres.
var sqlArg = map[string]int{
	"Exec": 1, "Query": 1, "QueryRow": 1, // (ctx, sql, args...)
	"Prepare":  2, // (ctx, name, sql)
	"Queue":    0, // batch.Queue(sql, args...), sent by SendBatch
	"CopyFrom": 1, // (ctx, pgx.Identifier{table}, columns, rows): columns checked too
}

// sqlAllowed are the calls that pass non-constant SQL on purpose, by
// "file:function" or "file", with why it is safe.
var sqlAllowed = map[string]string{
	"pkg/pg/migrate.go:Migrate": "runs the embedded migration files, never input",
	"pkg/pgtest/pgtest.go":      "test harness: DDL on database names it generates, quoted with pgx.Identifier",
}

// TestNoSQLBuiltFromInput scans every Go source of the services, pkg and
// gateway for pgx calls whose SQL is not a compile-time constant (a string
// literal, a const, or a concatenation of them), so a query can never be
// assembled from input with fmt.Sprintf or +: every value travels as a
// $n parameter. Identifiers quoted by pgx.Identifier{…}.Sanitize() count as
// constant. CopyFrom's table and columns must be constant too. A helper
// that takes the SQL as a parameter passes when every call of it in its
// package passes a constant there.
func TestNoSQLBuiltFromInput(t *testing.T) {
	root := repoRoot(t)
	var calls int
	for _, dir := range []string{"services", "pkg", "gateway"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return err
			}
			n, findings := scanSQLCalls(t, root, path)
			calls += n
			for _, f := range findings {
				t.Error(f)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The scan must see the stores' queries, or it proves nothing.
	if calls < 50 {
		t.Fatalf("found only %d SQL calls: the scan is not looking where the queries are", calls)
	}
	t.Logf("%d SQL calls checked, all with constant SQL", calls)
}

// scanSQLCalls checks the non-test files of one directory (one package) and
// returns how many SQL calls it saw and what it found wrong.
func scanSQLCalls(t *testing.T, root, dir string) (calls int, findings []string) {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", dir, err)
	}
	for _, pkg := range pkgs {
		consts, constLists := constNames(pkg)
		c := sqlChecker{consts: consts, constLists: constLists}
		// forwarded: function name → index of a parameter that reaches a
		// pgx call as SQL; every call of the function must pass a constant.
		forwarded := map[string]int{}
		for name, f := range pkg.Files {
			rel, _ := filepath.Rel(root, name)
			rel = filepath.ToSlash(rel)
			if _, ok := sqlAllowed[rel]; ok {
				continue
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				params := paramIndex(fn)
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok {
						return true
					}
					sel, ok := call.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					i, ok := sqlArg[sel.Sel.Name]
					if !ok || len(call.Args) <= i {
						return true
					}
					calls++
					if _, ok := sqlAllowed[rel+":"+fn.Name.Name]; ok {
						return true
					}
					args := []ast.Expr{call.Args[i]}
					if sel.Sel.Name == "CopyFrom" && len(call.Args) > 2 {
						args = append(args, call.Args[2])
					}
					for _, a := range args {
						if id, ok := a.(*ast.Ident); ok && fn.Recv == nil {
							if pi, ok := params[id.Name]; ok {
								forwarded[fn.Name.Name] = pi
								continue
							}
						}
						if !c.constant(a) {
							findings = append(findings, fmt.Sprintf("%s: %s.%s gets SQL that is not a constant (%s): use a const query with $n parameters",
								fset.Position(a.Pos()), exprString(sel.X), sel.Sel.Name, exprString(a)))
						}
					}
					return true
				})
			}
		}
		// Every call of a helper that forwards SQL must pass a constant.
		for _, f := range pkg.Files {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fun := call.Fun
				if ix, ok := fun.(*ast.IndexExpr); ok { // explicit type arguments
					fun = ix.X
				}
				id, ok := fun.(*ast.Ident)
				if !ok {
					return true
				}
				if i, ok := forwarded[id.Name]; ok && i < len(call.Args) && !c.constant(call.Args[i]) {
					findings = append(findings, fmt.Sprintf("%s: %s gets SQL that is not a constant (%s): use a const query with $n parameters",
						fset.Position(call.Args[i].Pos()), id.Name, exprString(call.Args[i])))
				}
				return true
			})
		}
	}
	return calls, findings
}

// TestSQLScanCatchesBuiltQueries proves the scan flags what it must, on a
// package written for the purpose.
func TestSQLScanCatchesBuiltQueries(t *testing.T) {
	dir := t.TempDir()
	src := `package store

const getSQL = "SELECT 1 WHERE id = $1"
const tableSQL = "SELECT * FROM " + "t"

var cols = []string{"a", "b"}

func ok(ctx any, q db, id int64) {
	q.QueryRow(ctx, getSQL, id)
	q.Query(ctx, tableSQL+" WHERE x = $1", id)
	q.CopyFrom(ctx, pgx.Identifier{"events"}, cols, nil)
	run(ctx, q, getSQL)
}

func run(ctx any, q db, sql string) { q.Exec(ctx, sql) }

func bad(ctx any, q db, name string, b batch) {
	q.Query(ctx, fmt.Sprintf("SELECT * FROM t WHERE name = '%s'", name))
	q.Exec(ctx, "DELETE FROM t WHERE name = '"+name+"'")
	sql := getSQL
	q.QueryRow(ctx, sql)
	b.Queue("SELECT " + name)
	q.CopyFrom(ctx, pgx.Identifier{name}, cols, nil)
	run(ctx, q, "SELECT "+name)
}
`
	if err := os.WriteFile(filepath.Join(dir, "store.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	calls, findings := scanSQLCalls(t, dir, dir)
	if calls != 9 || len(findings) != 6 {
		t.Fatalf("%d calls, findings:\n%s\nwant 9 pgx calls and the 6 of bad flagged", calls, strings.Join(findings, "\n"))
	}
	for _, f := range findings {
		if !strings.Contains(f, "store.go:1") && !strings.Contains(f, "store.go:2") {
			t.Errorf("finding outside bad: %s", f)
		}
	}
}

// paramIndex maps a function's parameter names to their positions.
func paramIndex(fn *ast.FuncDecl) map[string]int {
	out := map[string]int{}
	i := 0
	for _, field := range fn.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			out[n.Name] = i
			i++
		}
	}
	return out
}

// constNames returns the package's constants (any scope: names are only
// compared, and a shadowing variable of the same name would be odd), and
// its package-level variables that are composite literals of constants
// (column lists such as []string{"a", "b"} or pgx.Identifier{"t"}).
func constNames(pkg *ast.Package) (consts, lists map[string]bool) {
	consts, lists = map[string]bool{}, map[string]bool{}
	for _, f := range pkg.Files {
		ast.Inspect(f, func(n ast.Node) bool {
			gd, ok := n.(*ast.GenDecl)
			if ok && gd.Tok == token.CONST {
				for _, s := range gd.Specs {
					for _, id := range s.(*ast.ValueSpec).Names {
						consts[id.Name] = true
					}
				}
			}
			return true
		})
	}
	c := sqlChecker{consts: consts}
	for _, f := range pkg.Files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if i < len(vs.Values) && c.constant(vs.Values[i]) {
						lists[id.Name] = true
					}
				}
			}
		}
	}
	return consts, lists
}

type sqlChecker struct{ consts, constLists map[string]bool }

// constant reports whether e is built only from literals and constants.
func (c sqlChecker) constant(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.STRING
	case *ast.Ident:
		return c.consts[e.Name] || c.constLists[e.Name]
	case *ast.ParenExpr:
		return c.constant(e.X)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && c.constant(e.X) && c.constant(e.Y)
	case *ast.CompositeLit: // pgx.Identifier{"events"}, []string{"a", "b"}
		for _, el := range e.Elts {
			if !c.constant(el) {
				return false
			}
		}
		return true
	case *ast.CallExpr:
		// pgx.Identifier{…}.Sanitize() quotes an identifier.
		if sel, ok := e.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sanitize" && len(e.Args) == 0 {
			if lit, ok := sel.X.(*ast.CompositeLit); ok && exprString(lit.Type) == "pgx.Identifier" {
				return true
			}
		}
	}
	return false
}

func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	case *ast.CallExpr:
		return exprString(e.Fun) + "(…)"
	case *ast.BasicLit:
		return e.Value
	case *ast.BinaryExpr:
		return exprString(e.X) + " " + e.Op.String() + " " + exprString(e.Y)
	}
	return "expression"
}
