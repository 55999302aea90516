namespace Weightless.Core.Query;

/// <summary>
/// A growable column of values, one per run position, kept in fixed-size pages so a frozen copy
/// (<see cref="Freeze"/>) shares every page and the live column copies a page only on its first write
/// after the freeze: a snapshot save reads a consistent version while queries and changes go on.
/// </summary>
internal sealed class IndexColumn
{
    private const int PageShift = 10;
    private const int PageSize = 1 << PageShift;
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

    /// <summary>A read-only copy of the column as it is now; costs one reference per page.</summary>
    public IndexColumn Freeze()
    {
        Array.Clear(_owned);
        return new IndexColumn { _pages = (IndexValue[]?[])_pages.Clone(), _owned = new bool[_pages.Length] };
    }
}

/// <summary>
/// The in-memory run index of one project, stored by column so 100,000 runs × dozens of keys stay
/// compact and a filter touches only the columns it names. Positions are stable for the table's life;
/// a removed run leaves a hole (<see cref="IsLive"/> false) until the next rebuild.
/// Not thread-safe: <see cref="RunIndexService"/> serialises access per project; <see cref="Freeze"/>
/// hands out a read-only version another thread may read while this one keeps changing.
/// </summary>
internal sealed class RunTable
{
    private Dictionary<string, int>? _positions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IndexColumn> _config = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IndexColumn> _summary = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IndexColumn> _columns = new(StringComparer.Ordinal);
    private string[] _ids = [];
    private string[][] _tags = [];
    private bool[] _live = [];
    private bool[] _deleted = [];

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
        _ids = source._ids[..source.Capacity];
        _tags = source._tags[..source.Capacity];
        _live = source._live[..source.Capacity];
        _deleted = source._deleted[..source.Capacity];
        Capacity = source.Capacity;
        LiveCount = source.LiveCount;
    }

    /// <summary>
    /// The runs <paramref name="ids"/> at positions 0..n-1 with empty columns, for a snapshot decode to
    /// fill column by column (<see cref="LoadColumn"/>).
    /// </summary>
    public static RunTable Create(string[] ids, string[][] tags, bool[] deleted)
    {
        var table = new RunTable
        {
            _ids = ids,
            _tags = tags,
            _deleted = deleted,
            _live = new bool[ids.Length],
            Capacity = ids.Length,
            LiveCount = ids.Length,
        };
        Array.Fill(table._live, true);
        table._positions!.EnsureCapacity(ids.Length);
        var names = table._columns[RunField.RunName.Name];
        for (var position = 0; position < ids.Length; position++)
        {
            table._positions[ids[position]] = position;
            names.Set(position, IndexValue.Of(ids[position]));
        }
        return table;
    }

    /// <summary>The column of a fixed field, config key or summary key, created empty when new (snapshot decode).</summary>
    public IndexColumn LoadColumn(RunFieldKind kind, string name)
    {
        var columns = kind switch
        {
            RunFieldKind.Config => _config,
            RunFieldKind.Summary => _summary,
            _ => _columns,
        };
        if (!columns.TryGetValue(name, out var column))
        {
            column = new IndexColumn();
            columns[name] = column;
        }
        return column;
    }

    /// <summary>
    /// A read-only version of the table as it is now, for a reader on another thread (the snapshot
    /// save): it shares every column page, and this table copies a page before it next writes it.
    /// Costs a copy of the per-run arrays (ids, tags, flags), not of the values.
    /// </summary>
    public RunTable Freeze() => new(this);

    /// <summary>Fixed columns by name (<see cref="RunField.ColumnNames"/>), config columns and summary columns.</summary>
    public IReadOnlyDictionary<string, IndexColumn> FixedColumns => _columns;

    public IReadOnlyDictionary<string, IndexColumn> ConfigColumns => _config;

    public IReadOnlyDictionary<string, IndexColumn> SummaryColumns => _summary;

    /// <summary>Positions allocated (live or not).</summary>
    public int Capacity { get; private set; }

    public int LiveCount { get; private set; }

    public IEnumerable<string> ConfigKeys => _config.Keys;

    public IEnumerable<string> SummaryKeys => _summary.Keys;

    public string Id(int position) => _ids[position];

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
                    _positions[_ids[position]] = position;
                }
            }
            return _positions;
        }
    }

    /// <summary>The column a field reads, or null for a config/summary key no run has (every value missing).</summary>
    public IndexColumn? Column(RunField field) => field.Kind switch
    {
        RunFieldKind.Column => _columns[field.Name],
        RunFieldKind.Config => _config.GetValueOrDefault(field.Name),
        RunFieldKind.Summary => _summary.GetValueOrDefault(field.Name),
        _ => null,
    };

    public IndexValue Get(RunField field, int position) =>
        field.Kind == RunFieldKind.Tags ? IndexValue.OfJson(System.Text.Json.JsonSerializer.Serialize(_tags[position])) : Column(field)?[position] ?? default;

    public void Upsert(RunIndexRow row)
    {
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
        _tags[position] = row.Tags as string[] ?? [.. row.Tags];
        _columns[RunField.RunName.Name].Set(position, IndexValue.Of(row.Id));
        _columns[RunField.DisplayName.Name].Set(position, IndexValue.Of(row.DisplayName));
        _columns[RunField.State.Name].Set(position, IndexValue.Of(row.State));
        _columns[RunField.CreatedAt.Name].Set(position, IndexValue.OfDate(row.CreatedAt));
        _columns[RunField.HeartbeatAt.Name].Set(position, IndexValue.OfDate(row.HeartbeatAt));
        _columns[RunField.User.Name].Set(position, IndexValue.Of(row.User));
        _columns[RunField.Group.Name].Set(position, IndexValue.Of(row.Group));
        _columns[RunField.JobType.Name].Set(position, IndexValue.Of(row.JobType));
        _columns[RunField.Host.Name].Set(position, IndexValue.Of(row.Host));
        _columns[RunField.Sweep.Name].Set(position, IndexValue.Of(row.Sweep));
        _columns[RunField.Runtime.Name].Set(position, IndexValue.Of(row.Runtime));
        SetKeys(_config, position, row.Config);
        SetKeys(_summary, position, row.Summary);
    }

    public bool Remove(string id)
    {
        if (!Positions.TryGetValue(id, out var position) || !_live[position])
        {
            return false;
        }
        _live[position] = false;
        LiveCount--;
        return true;
    }

    /// <summary>The row at a position (for snapshots, exports and list answers).</summary>
    public RunIndexRow ToRow(int position)
    {
        return new RunIndexRow
        {
            Id = _ids[position],
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

    private static void SetKeys(Dictionary<string, IndexColumn> columns, int position, IReadOnlyDictionary<string, IndexValue> values)
    {
        foreach (var column in columns.Values)
        {
            column.Set(position, default);
        }
        foreach (var (key, value) in values)
        {
            if (!columns.TryGetValue(key, out var column))
            {
                column = new IndexColumn();
                columns[key] = column;
            }
            column.Set(position, value);
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
