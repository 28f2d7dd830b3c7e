import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.apache.jena.Jena;
import org.apache.jena.graph.Graph;
import org.apache.jena.graph.Node;
import org.apache.jena.graph.Triple;
import org.apache.jena.riot.RDFDataMgr;
import org.apache.jena.shacl.ShaclValidator;
import org.apache.jena.shacl.Shapes;
import org.apache.jena.shacl.ValidationReport;
import org.apache.jena.shacl.validation.ReportEntry;
import org.apache.jena.shacl.validation.Severity;
import org.apache.jena.sparql.graph.GraphFactory;
import org.apache.jena.sys.JenaSystem;

/**
 * Apache Jena SHACL on payerkg's shapes and encounter files, timed inside the JVM (start-up,
 * class loading and the shapes' parsing are left out, as they are for the Python engines).
 *
 *   java -cp CLASSPATH JenaShacl SHAPES.ttl FOLDER WARMUP
 *
 * Validates WARMUP files untimed, then every FOLDER/*.ttl (in name order) once per call (parse
 * and validate each file), then as one batch (every file parsed into one union data graph,
 * validated once). Prints one JSON object: per mode the count, seconds and the indexes (name
 * order) of the encounters with a result (flagged) and with a result of severity sh:Violation.
 */
public final class JenaShacl {
    private JenaShacl() {}

    public static void main(String[] args) throws IOException {
        JenaSystem.init();
        Shapes shapes = Shapes.parse(RDFDataMgr.loadGraph(args[0]));
        List<String> files = turtleFiles(Path.of(args[1]));
        int warmup = Integer.parseInt(args[2]);
        for (int i = 0; i < warmup; i++) {  // the JIT compiles the hot paths before timing
            ShaclValidator.get().validate(shapes, RDFDataMgr.loadGraph(files.get(i % files.size())));
        }
        long started = System.nanoTime();
        Verdicts perCall = new Verdicts();
        for (int i = 0; i < files.size(); i++) {
            perCall.add(i, ShaclValidator.get().validate(shapes, RDFDataMgr.loadGraph(files.get(i))).getEntries());
        }
        double perCallSeconds = (System.nanoTime() - started) / 1e9;

        started = System.nanoTime();
        Graph union = GraphFactory.createDefaultGraph();
        List<Graph> parsed = new ArrayList<>();
        for (String file : files) {
            Graph graph = RDFDataMgr.loadGraph(file);
            graph.find().forEachRemaining(union::add);
            parsed.add(graph);
        }
        ValidationReport report = ShaclValidator.get().validate(shapes, union);
        double batchSeconds = (System.nanoTime() - started) / 1e9;
        Verdicts batch = new Verdicts();
        Map<Node, Integer> fileOf = new HashMap<>();  // a focus node (a subject) traced to its file
        for (int i = 0; i < parsed.size(); i++) {
            final int index = i;
            parsed.get(i).find().forEachRemaining((Triple t) -> fileOf.put(t.getSubject(), index));
        }
        for (ReportEntry entry : report.getEntries()) {
            batch.add(fileOf.get(entry.focusNode()), List.of(entry));
        }

        System.out.println("{\"version\": \"" + Jena.VERSION + "\", \"per_call\": "
            + perCall.json(files.size(), perCallSeconds) + ", \"batch\": "
            + batch.json(files.size(), batchSeconds) + "}");
    }

    /** The files with a result of any severity, and those with a result of severity sh:Violation. */
    private static final class Verdicts {
        private final TreeSet<Integer> flagged = new TreeSet<>();
        private final TreeSet<Integer> violating = new TreeSet<>();

        void add(int file, Collection<ReportEntry> entries) {
            for (ReportEntry entry : entries) {
                flagged.add(file);
                if (entry.severity().level().equals(Severity.Violation.level())) {
                    violating.add(file);
                }
            }
        }

        String json(int count, double seconds) {
            return "{\"count\": " + count + ", \"seconds\": " + seconds + ", \"flagged\": " + flagged
                + ", \"violating\": " + violating + "}";
        }
    }

    private static List<String> turtleFiles(Path folder) throws IOException {
        try (Stream<Path> listed = Files.list(folder)) {
            return listed.map(Path::toString).filter(name -> name.endsWith(".ttl")).sorted().toList();
        }
    }
}
