namespace Weightless.Core.Query;

/// <summary>
/// A growable column of values, one per run position, kept in fixed-size pages so a frozen copy
/// (<see cref="Freeze"/>) shares every page and the live column copies a page only on its first write
/// after the freeze: a snapshot save reads a consistent version while queries and changes go on.
/// </summary>
internal sealed class IndexColumn
{
    public const int PageShift = 10;
    public const int PageSize = 1 << PageShift;
    private IndexValue[]?[] _pages = [];

    /// <summary>Pages this column may write in place; the others are shared with a frozen copy.</summary>
    private bool[] _owned = [];

    public IndexValue this[int position]
    {
        get
        {
            var page = position >> PageShift;
            return page < _pages.Length && _pages[page] is { } values ? values[position & (PageSize - 1)] : default;
        }
    }

    public void Set(int position, IndexValue value)
    {
        var page = position >> PageShift;
        if (page >= _pages.Length)
        {
            if (!value.IsPresent)
            {
                return;
            }
            var size = Math.Max(page + 1, _pages.Length * 2);
            Array.Resize(ref _pages, size);
            Array.Resize(ref _owned, size);
        }
        var values = _pages[page];
        if (values is null)
        {
            if (!value.IsPresent)
            {
                return;
            }
            values = new IndexValue[PageSize];
            _pages[page] = values;
            _owned[page] = true;
        }
        else if (!_owned[page])
        {
            if (values[position & (PageSize - 1)] == value)
            {
                return;
            }
            values = (IndexValue[])values.Clone();
            _pages[page] = values;
            _owned[page] = true;
        }
        values[position & (PageSize - 1)] = value;
    }

    /// <summary>A column holding <paramref name="values"/> at positions 0..n-1 (a snapshot decode), pages cut from the array.</summary>
    public static IndexColumn From(IndexValue[] values)
    {
        var pageCount = (values.Length + PageSize - 1) >> PageShift;
        var column = new IndexColumn { _pages = new IndexValue[]?[pageCount], _owned = new bool[pageCount] };
        for (var page = 0; page < pageCount; page++)
        {
            var start = page << PageShift;
            var length = Math.Min(PageSize, values.Length - start);
            if (values.AsSpan(start, length).ContainsAnyExcept(default(IndexValue)))
            {
                var copy = new IndexValue[PageSize];
                values.AsSpan(start, length).CopyTo(copy);
                column._pages[page] = copy;
                column._owned[page] = true;
            }
        }
        return column;
    }

    /// <summary>A column over pages decoded straight into place (<see cref="RunIndexCodec.ReadColumnPages"/>); null pages hold no value.</summary>
    public static IndexColumn FromPages(IndexValue[]?[] pages) =>
        new() { _pages = pages, _owned = Array.ConvertAll(pages, page => page is not null) };

    /// <summary>A read-only copy of the column as it is now; costs one reference per page.</summary>
    public IndexColumn Freeze()
    {
        Array.Clear(_owned);
        return new IndexColumn { _pages = (IndexValue[]?[])_pages.Clone(), _owned = new bool[_pages.Length] };
    }
}

/// <summary>When the index last read one run from the run store, and the newest change-log entry of it seen before that read.</summary>
internal readonly record struct RunReadMark(long SeenTicks, long ReadTicks);

/// <summary>
/// Where a table opened lazily from a snapshot (<see cref="RunTable.Open"/>) gets what it has not
/// decoded yet: a column's values for the snapshot's positions, and current rows of named runs.
/// </summary>
internal interface IRunTableLoader
{
    Task<IndexColumn> LoadColumnAsync(RunFieldKind kind, string name, CancellationToken cancellationToken);

    Task<RunIndexDelta> ReadRunsAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken);

    /// <summary>The run row version each snapshot position was read at (<see cref="RunVersion"/>); null when the snapshot kept none.</summary>
    Task<ulong[]?> LoadVersionsAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The in-memory run index of one project, stored by column so 100,000 runs × dozens of keys stay
/// compact and a filter touches only the columns it names. Positions are stable for the table's life;
/// a removed run leaves a hole (<see cref="IsLive"/> false) until the next rebuild.
/// <para>
/// A table opened from a snapshot (<see cref="Open"/>) starts with the runs (ids, tags, flags) only:
/// each column is decoded when a query first names it (<see cref="EnsureColumnsAsync"/>), so a cold
/// query reads the few columns its filter and sort use, not all of them. Rows changed meanwhile are kept
/// whole and replayed into a column when it loads. <see cref="EnsureLoadedAsync"/> decodes the rest
/// (before a save or a query over every field).
/// </para>
/// <para>
/// Read marks (<see cref="Covers"/>) say when each run was last read from the run store, so a refresh
/// re-reads a run named in the change log only when that entry may stand for a commit it has not seen.
/// Each position also keeps the row version it was read at (<see cref="RunVersion"/>): an entry that
/// names exactly that version is held, however recent (<see cref="HoldsVersion"/>). A lazily opened
/// table loads the versions when a refresh first needs them (<see cref="EnsureVersionsAsync"/>).
/// </para>
/// Not thread-safe: <see cref="RunIndexService"/> serialises access per project; <see cref="Freeze"/>
/// hands out a read-only version another thread may read while this one keeps changing.
/// </summary>
internal sealed class RunTable
{
    /// <summary>Columns still in the snapshot (placeholders in the column maps), for a lazily opened table.</summary>
    private HashSet<(RunFieldKind Kind, string Name)>? _pending;
    private IRunTableLoader? _loader;

    /// <summary>Rows upserted since a lazy open, replayed into each column as it loads.</summary>
    private Dictionary<int, RunIndexRow>? _changed;
    private Dictionary<string, RunReadMark> _marks = new(StringComparer.Ordinal);

    private Dictionary<string, int>? _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IndexColumn> _config = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IndexColumn> _summary = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IndexColumn> _columns = new(StringComparer.Ordinal);
    private string?[] _ids = [];

    /// <summary>
    /// A lazily opened table's ids still in the snapshot's runs segment (null once all are decoded): an id
    /// is decoded when first asked for, so a cold query decodes the page's ids, not 100,000. The name
    /// column (<see cref="RunField.RunName"/>), derived from the ids, is built when a query names it.
    /// </summary>
    private RunIndexRuns? _idSource;
    private string[][] _tags = [];
    private bool[] _live = [];
    private bool[] _deleted = [];
    private ulong[] _versions = [];

    /// <summary>Where a lazily opened table's versions come from until loaded, and the versions set since the open (they win).</summary>
    private IRunTableLoader? _versionLoader;
    private Dictionary<int, ulong>? _versionChanges;

    public RunTable()
    {
        foreach (var name in RunField.ColumnNames)
        {
            _columns[name] = new IndexColumn();
        }
    }

    private RunTable(RunTable source)
    {
        // A frozen copy builds its id lookup only if asked (a snapshot encode never asks).
        _positions = null;
        foreach (var (name, column) in source._columns)
        {
            _columns[name] = column.Freeze();
        }
        foreach (var (name, column) in source._config)
        {
            _config[name] = column.Freeze();
        }
        foreach (var (name, column) in source._summary)
        {
            _summary[name] = column.Freeze();
        }
        _marks = new Dictionary<string, RunReadMark>(source._marks, StringComparer.Ordinal);
        BaseReadTicks = source.BaseReadTicks;
        _ids = source._ids[..source.Capacity];
        _tags = source._tags[..source.Capacity];
        _live = source._live[..source.Capacity];
        _deleted = source._deleted[..source.Capacity];
        _versions = source._versions[..source.Capacity];
        Capacity = source.Capacity;
        LiveCount = source.LiveCount;
    }

    /// <summary>
    /// The runs <paramref name="ids"/> at positions 0..n-1 with empty columns, for a snapshot decode to
    /// fill column by column (<see cref="LoadColumn"/>).
    /// </summary>
    public static RunTable Create(string[] ids, string[][] tags, bool[] deleted, ulong[]? versions = null)
    {
        var table = new RunTable
        {
            _ids = ids,
            _tags = tags,
            _deleted = deleted,
            _versions = versions ?? new ulong[ids.Length],
            _live = new bool[ids.Length],
            Capacity = ids.Length,
            LiveCount = ids.Length,
        };
        Array.Fill(table._live, true);
        // The id lookup is built when first asked (a cold query that re-reads no run never asks).
        table._positions = null;
        var names = new IndexValue[ids.Length];
        for (var position = 0; position < ids.Length; position++)
        {
            names[position] = IndexValue.Of(ids[position]);
        }
        table._columns[RunField.RunName.Name] = IndexColumn.From(names);
        return table;
    }

    /// <summary>
    /// A table over a snapshot's runs whose <paramref name="columns"/> stay in the snapshot until a
    /// query needs them (<paramref name="loader"/> decodes them then), as do the ids (<see cref="RunIndexCodec.ScanRuns"/>).
    /// </summary>
    public static RunTable Open(RunIndexRuns runs, IEnumerable<(RunFieldKind Kind, string Name)> columns, IRunTableLoader loader)
    {
        var count = runs.Deleted.Length;
        var table = new RunTable
        {
            _ids = new string?[count],
            _idSource = runs,
            _tags = runs.Tags,
            _deleted = runs.Deleted,
            _versions = new ulong[count],
            _live = new bool[count],
            Capacity = count,
            LiveCount = count,
            _positions = null,
        };
        Array.Fill(table._live, true);
        table._pending = [];
        table._changed = [];
        table._loader = loader;
        table._versionLoader = loader;
        table._versionChanges = [];
        foreach (var (kind, name) in columns)
        {
            if (kind == RunFieldKind.Column && name == RunField.RunName.Name)
            {
                continue;
            }
            table.Map(kind)[name] = new IndexColumn();
            table._pending.Add((kind, name));
        }
        if (table._pending.Count == 0)
        {
            table.FinishLoading();
        }
        return table;
    }

    /// <summary>Counts the changes to the table's runs and values: a query result worked out at one revision holds while it stays.</summary>
    public long Revision { get; private set; }

    /// <summary>Puts a column's decoded values in place (snapshot decode); rows changed since the snapshot win over them.</summary>
    public void Install(RunFieldKind kind, string name, IndexValue[] values) => Install(kind, name, IndexColumn.From(values));

    /// <summary>Puts a decoded column in place (it becomes the table's own); rows changed since the snapshot win over its values.</summary>
    public void Install(RunFieldKind kind, string name, IndexColumn column)
    {
        Revision++;
        if (_changed is not null)
        {
            foreach (var (position, row) in _changed)
            {
                column.Set(position, ValueOf(row, kind, name));
            }
        }
        Map(kind)[name] = column;
        if (_pending?.Remove((kind, name)) == true && _pending.Count == 0)
        {
            FinishLoading();
        }
    }

    /// <summary>Whether every column, id and version is decoded (always, unless opened lazily from a snapshot).</summary>
    public bool IsLoaded => _pending is null && _versionLoader is null && _idSource is null;

    /// <summary>The columns a lazily opened table has not decoded yet.</summary>
    public IReadOnlyList<(RunFieldKind Kind, string Name)> PendingColumns => _pending is null ? [] : [.. _pending];

    public bool IsPending(RunFieldKind kind, string name) => _pending?.Contains((kind, name)) == true;

    /// <summary>Where the pending columns come from (null once every column is decoded).</summary>
    public IRunTableLoader? Loader => _loader;

    /// <summary>Decodes the columns <paramref name="fields"/> read that are still in the snapshot.</summary>
    public Task EnsureColumnsAsync(IEnumerable<RunField> fields, CancellationToken cancellationToken) =>
        _pending is null ? Task.CompletedTask : LoadAsync(fields.Select(f => (f.Kind, f.Name)).Where(_pending.Contains).Distinct().ToList(), cancellationToken);

    /// <summary>Decodes every column and the versions still in the snapshot.</summary>
    public Task EnsureLoadedAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(_pending is null ? Task.CompletedTask : LoadAsync([.. _pending], cancellationToken), EnsureVersionsAsync(cancellationToken));

    /// <summary>Loads the row versions of a lazily opened table (one read of the snapshot's versions segment).</summary>
    public async Task EnsureVersionsAsync(CancellationToken cancellationToken)
    {
        if (_versionLoader is not { } loader)
        {
            return;
        }
        InstallVersions(await loader.LoadVersionsAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Where the row versions still waiting in the snapshot come from (null once loaded).</summary>
    public IRunTableLoader? VersionLoader => _versionLoader;

    /// <summary>Puts the snapshot's versions in place (null: it kept none, all unknown); versions set since the open win.</summary>
    public void InstallVersions(ulong[]? loaded)
    {
        if (_versionLoader is null)
        {
            return;
        }
        if (loaded is not null)
        {
            loaded.AsSpan(0, Math.Min(loaded.Length, Capacity)).CopyTo(_versions);
        }
        foreach (var (position, version) in _versionChanges!)
        {
            _versions[position] = version;
        }
        _versionLoader = null;
        _versionChanges = null;
    }

    /// <summary>
    /// Whether the table holds exactly the run row version <paramref name="change"/> committed: an entry
    /// without a lease stands for that one commit only, so a run read at that version (or later written
    /// by this index from that version) needs no re-read for it. Load the versions first (<see cref="EnsureVersionsAsync"/>).
    /// </summary>
    public bool HoldsVersion(RunChange change)
    {
        if (change.Lease != TimeSpan.Zero || change.Version == 0)
        {
            return false;
        }
        if (_versionLoader is not null)
        {
            throw new InvalidOperationException("Load the run versions (EnsureVersionsAsync) before matching change-log entries against them.");
        }
        return Positions.TryGetValue(change.RunId, out var position) && _live[position] && _versions[position] == change.Version;
    }

    /// <summary>The row version a position holds (0: unknown).</summary>
    public ulong VersionAt(int position) => _versions[position];

    private async Task LoadAsync(List<(RunFieldKind Kind, string Name)> columns, CancellationToken cancellationToken)
    {
        var loader = _loader!;
        var values = new IndexColumn[columns.Count];
        await Parallel.ForAsync(0, columns.Count, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
            values[i] = await loader.LoadColumnAsync(columns[i].Kind, columns[i].Name, ct).ConfigureAwait(false)).ConfigureAwait(false);
        for (var i = 0; i < columns.Count; i++)
        {
            Install(columns[i].Kind, columns[i].Name, values[i]);
        }
    }

    private void FinishLoading()
    {
        DecodeIds();
        _pending = null;
        _changed = null;
        _loader = null;
        _prefetched = null;
    }

    /// <summary>Point reads started ahead of <see cref="RowsAsync"/> (<see cref="PrefetchRows"/>): the runs asked for and their answer.</summary>
    private (HashSet<string> Ids, Task<RunIndexDelta> Read)? _prefetched;

    /// <summary>
    /// Starts the point reads <see cref="RowsAsync"/> would make for <paramref name="positions"/> (a lazily
    /// opened table; no-op otherwise), so they overlap other work. Rows read so are at least as new as
    /// the query that asked for them: the reads start after it did.
    /// </summary>
    public void PrefetchRows(IReadOnlyList<int> positions, CancellationToken cancellationToken)
    {
        if (_pending is null || _loader is null)
        {
            return;
        }
        var ids = positions.Where(p => !_changed!.ContainsKey(p)).Select(Id).ToHashSet(StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return;
        }
        var read = _loader.ReadRunsAsync(ids, cancellationToken);
        // Observed even when no page asks for these rows after all.
        _ = read.ContinueWith(static t => t.Exception, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously);
        _prefetched = (ids, read);
    }

    /// <summary>
    /// The rows at <paramref name="positions"/>, in order. A lazily opened table answers rows it has not
    /// decoded with point reads of those runs (a run gone meanwhile is left out), or with the reads
    /// <see cref="PrefetchRows"/> started; a loaded one from memory.
    /// </summary>
    public async Task<IReadOnlyList<RunIndexRow>> RowsAsync(IReadOnlyList<int> positions, CancellationToken cancellationToken)
    {
        if (_pending is null)
        {
            return positions.Select(ToRow).ToList();
        }
        var missing = positions.Where(p => !_changed!.ContainsKey(p)).Select(Id).ToList();
        var read = new Dictionary<string, RunIndexRow>(StringComparer.Ordinal);
        if (_prefetched is { } prefetched && missing.Exists(prefetched.Ids.Contains))
        {
            foreach (var row in (await prefetched.Read.ConfigureAwait(false)).Rows)
            {
                read[row.Id] = row;
            }
            missing.RemoveAll(prefetched.Ids.Contains);
        }
        if (missing.Count > 0)
        {
            foreach (var row in (await _loader!.ReadRunsAsync(missing, cancellationToken).ConfigureAwait(false)).Rows)
            {
                read[row.Id] = row;
            }
        }
        var result = new List<RunIndexRow>(positions.Count);
        foreach (var position in positions)
        {
            if (_changed!.TryGetValue(position, out var changed))
            {
                result.Add(AsStored(changed));
            }
            else if (read.TryGetValue(Id(position), out var row))
            {
                result.Add(AsStored(row));
            }
        }
        return result;
    }

    /// <summary>A row as the columns would give it back (<see cref="ToRow"/>): dates to the millisecond.</summary>
    private static RunIndexRow AsStored(RunIndexRow row) => row with
    {
        CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(row.CreatedAt.ToUnixTimeMilliseconds()),
        HeartbeatAt = DateTimeOffset.FromUnixTimeMilliseconds(row.HeartbeatAt.ToUnixTimeMilliseconds()),
    };

    /// <summary>Every run was read from the run store at or after this time (UTC ticks; the last full build).</summary>
    public long BaseReadTicks { get; set; }

    /// <summary>Runs read from the run store after <see cref="BaseReadTicks"/>, by id.</summary>
    public IReadOnlyDictionary<string, RunReadMark> ReadMarks => _marks;

    /// <summary>Records that run <paramref name="id"/> (present or gone) was read at <paramref name="readTicks"/>, after its change-log entries up to <paramref name="seenTicks"/> were seen.</summary>
    public void MarkRead(string id, long seenTicks, long readTicks) => _marks[id] = new RunReadMark(seenTicks, readTicks);

    /// <summary>Drops read marks older than <paramref name="beforeTicks"/> (they can no longer spare a re-read).</summary>
    public void PruneReadMarks(long beforeTicks)
    {
        foreach (var (id, mark) in _marks)
        {
            if (mark.ReadTicks < beforeTicks && mark.SeenTicks < beforeTicks)
            {
                _marks.Remove(id);
            }
        }
    }

    /// <summary>
    /// Whether this table already holds every commit <paramref name="change"/> may stand for: the run
    /// was read after the entry's time plus its lease plus <paramref name="margin"/> (clock differences
    /// between instances), or the entry has no lease and is the one seen just before the run's last read.
    /// </summary>
    public bool Covers(RunChange change, TimeSpan margin)
    {
        var readTicks = BaseReadTicks;
        if (_marks.TryGetValue(change.RunId, out var mark))
        {
            if (change.Lease == TimeSpan.Zero && change.Ticks == mark.SeenTicks)
            {
                return true;
            }
            readTicks = Math.Max(readTicks, mark.ReadTicks);
        }
        return change.Ticks > 0 && change.Ticks + change.Lease.Ticks + margin.Ticks <= readTicks;
    }

    private Dictionary<string, IndexColumn> Map(RunFieldKind kind) => kind switch
    {
        RunFieldKind.Config => _config,
        RunFieldKind.Summary => _summary,
        _ => _columns,
    };

    /// <summary>The value a row holds for a fixed field, config key or summary key.</summary>
    private static IndexValue ValueOf(RunIndexRow row, RunFieldKind kind, string name) => kind switch
    {
        RunFieldKind.Config => row.Config.GetValueOrDefault(name),
        RunFieldKind.Summary => row.Summary.GetValueOrDefault(name),
        _ => name switch
        {
            "name" => IndexValue.Of(row.Id),
            "displayName" => IndexValue.Of(row.DisplayName),
            "state" => IndexValue.Of(row.State),
            "createdAt" => IndexValue.OfDate(row.CreatedAt),
            "heartbeatAt" => IndexValue.OfDate(row.HeartbeatAt),
            "username" => IndexValue.Of(row.User),
            "group" => IndexValue.Of(row.Group),
            "jobType" => IndexValue.Of(row.JobType),
            "host" => IndexValue.Of(row.Host),
            "sweep" => IndexValue.Of(row.Sweep),
            "runtime" => IndexValue.Of(row.Runtime),
            _ => default,
        },
    };

    /// <summary>
    /// A read-only version of the table as it is now, for a reader on another thread (the snapshot
    /// save): it shares every column page, and this table copies a page before it next writes it.
    /// Costs a copy of the per-run arrays (ids, tags, flags), not of the values.
    /// </summary>
    public RunTable Freeze() => IsLoaded ? new(this) : throw new InvalidOperationException("Load every column and the versions before freezing a lazily opened run table.");

    /// <summary>Fixed columns by name (<see cref="RunField.ColumnNames"/>), config columns and summary columns.</summary>
    public IReadOnlyDictionary<string, IndexColumn> FixedColumns => _columns;

    public IReadOnlyDictionary<string, IndexColumn> ConfigColumns => _config;

    public IReadOnlyDictionary<string, IndexColumn> SummaryColumns => _summary;

    /// <summary>Positions allocated (live or not).</summary>
    public int Capacity { get; private set; }

    public int LiveCount { get; private set; }

    public IEnumerable<string> ConfigKeys => _config.Keys;

    public IEnumerable<string> SummaryKeys => _summary.Keys;

    public string Id(int position) => _ids[position] ?? DecodeId(position);

    private string DecodeId(int position)
    {
        var id = _idSource!.Id(position);
        _ids[position] = id;
        return id;
    }

    /// <summary>Decodes the ids still in the snapshot and builds the name column from them.</summary>
    private void DecodeIds()
    {
        if (_idSource is null)
        {
            return;
        }
        var names = new IndexColumn();
        for (var position = 0; position < Capacity; position++)
        {
            names.Set(position, IndexValue.Of(Id(position)));
        }
        _columns[RunField.RunName.Name] = names;
        _idSource = null;
    }

    public bool IsLive(int position) => _live[position];

    public bool IsDeleted(int position) => _deleted[position];

    public IReadOnlyList<string> Tags(int position) => _tags[position];

    public bool TryGetPosition(string id, out int position) => Positions.TryGetValue(id, out position);

    private Dictionary<string, int> Positions
    {
        get
        {
            if (_positions is null)
            {
                _positions = new Dictionary<string, int>(Capacity, StringComparer.Ordinal);
                for (var position = 0; position < Capacity; position++)
                {
                    _positions[Id(position)] = position;
                }
            }
            return _positions;
        }
    }

    /// <summary>The column a field reads, or null for a config/summary key no run has (every value missing).</summary>
    public IndexColumn? Column(RunField field)
    {
        if (field == RunField.RunName)
        {
            DecodeIds();
        }
        if (_pending is not null && _pending.Contains((field.Kind, field.Name)))
        {
            throw new InvalidOperationException($"Column {field.Path} is not loaded yet (EnsureColumnsAsync first).");
        }
        return field.Kind switch
        {
            RunFieldKind.Column => _columns[field.Name],
            RunFieldKind.Config => _config.GetValueOrDefault(field.Name),
            RunFieldKind.Summary => _summary.GetValueOrDefault(field.Name),
            _ => null,
        };
    }

    public IndexValue Get(RunField field, int position) =>
        field.Kind == RunFieldKind.Tags ? IndexValue.OfJson(System.Text.Json.JsonSerializer.Serialize(_tags[position])) : Column(field)?[position] ?? default;

    public void Upsert(RunIndexRow row)
    {
        Revision++;
        if (!Positions.TryGetValue(row.Id, out var position))
        {
            position = Capacity++;
            if (position >= _ids.Length)
            {
                var size = Math.Max(16, _ids.Length * 2);
                Array.Resize(ref _ids, size);
                Array.Resize(ref _tags, size);
                Array.Resize(ref _live, size);
                Array.Resize(ref _deleted, size);
                Array.Resize(ref _versions, size);
            }
            Positions[row.Id] = position;
            _ids[position] = row.Id;
        }
        if (!_live[position])
        {
            LiveCount++;
        }
        _live[position] = true;
        _deleted[position] = row.Deleted;
        SetVersion(position, row.Version);
        _tags[position] = row.Tags as string[] ?? [.. row.Tags];
        foreach (var name in RunField.ColumnNames)
        {
            if (_pending?.Contains((RunFieldKind.Column, name)) != true && !(_idSource is not null && name == RunField.RunName.Name))
            {
                _columns[name].Set(position, ValueOf(row, RunFieldKind.Column, name));
            }
        }
        SetKeys(_config, RunFieldKind.Config, position, row.Config);
        SetKeys(_summary, RunFieldKind.Summary, position, row.Summary);
        if (_changed is not null)
        {
            _changed[position] = row;
        }
    }

    public bool Remove(string id)
    {
        if (!Positions.TryGetValue(id, out var position) || !_live[position])
        {
            return false;
        }
        Revision++;
        _live[position] = false;
        SetVersion(position, 0);
        LiveCount--;
        return true;
    }

    private void SetVersion(int position, ulong version)
    {
        _versions[position] = version;
        if (_versionChanges is not null)
        {
            _versionChanges[position] = version;
        }
    }

    /// <summary>The row at a position (for snapshots, exports and list answers).</summary>
    public RunIndexRow ToRow(int position)
    {
        if (_pending is not null)
        {
            return _changed!.TryGetValue(position, out var changed) ? AsStored(changed)
                : throw new InvalidOperationException("Rows of a lazily opened run table come from RowsAsync.");
        }
        return new RunIndexRow
        {
            Id = Id(position),
            DisplayName = Text(RunField.DisplayName),
            State = Text(RunField.State) ?? "running",
            CreatedAt = Date(RunField.CreatedAt),
            HeartbeatAt = Date(RunField.HeartbeatAt),
            User = Text(RunField.User),
            Tags = _tags[position],
            Group = Text(RunField.Group),
            JobType = Text(RunField.JobType),
            Host = Text(RunField.Host),
            Sweep = Text(RunField.Sweep),
            Runtime = _columns[RunField.Runtime.Name][position].Number,
            Deleted = _deleted[position],
            Config = Collect(_config, position),
            Summary = Collect(_summary, position),
        };

        string? Text(RunField field) => _columns[field.Name][position].Text;

        DateTimeOffset Date(RunField field) => DateTimeOffset.FromUnixTimeMilliseconds((long)_columns[field.Name][position].Number);
    }

    public IEnumerable<int> LivePositions()
    {
        for (var position = 0; position < Capacity; position++)
        {
            if (_live[position])
            {
                yield return position;
            }
        }
    }

    private void SetKeys(Dictionary<string, IndexColumn> columns, RunFieldKind kind, int position, IReadOnlyDictionary<string, IndexValue> values)
    {
        foreach (var (key, column) in columns)
        {
            if (_pending?.Contains((kind, key)) != true)
            {
                column.Set(position, default);
            }
        }
        foreach (var (key, value) in values)
        {
            if (!columns.TryGetValue(key, out var column))
            {
                column = new IndexColumn();
                columns[key] = column;
            }
            if (_pending?.Contains((kind, key)) != true)
            {
                column.Set(position, value);
            }
        }
    }

    private static Dictionary<string, IndexValue> Collect(Dictionary<string, IndexColumn> columns, int position)
    {
        var result = new Dictionary<string, IndexValue>(StringComparer.Ordinal);
        foreach (var (key, column) in columns)
        {
            var value = column[position];
            if (value.IsPresent)
            {
                result[key] = value;
            }
        }
        return result;
    }
}
