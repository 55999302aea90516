namespace Weightless.Core.Query;

/// <summary>A growable column of values, one per run position.</summary>
internal sealed class IndexColumn
{
    private IndexValue[] _values = [];

    public IndexValue this[int position] => position < _values.Length ? _values[position] : default;

    public void Set(int position, IndexValue value)
    {
        if (position >= _values.Length)
        {
            if (!value.IsPresent)
            {
                return;
            }
            Array.Resize(ref _values, Math.Max(position + 1, Math.Max(16, _values.Length * 2)));
        }
        _values[position] = value;
    }
}

/// <summary>
/// The in-memory run index of one project, stored by column so 100,000 runs × dozens of keys stay
/// compact and a filter touches only the columns it names. Positions are stable for the table's life;
/// a removed run leaves a hole (<see cref="IsLive"/> false) until the next rebuild.
/// Not thread-safe: <see cref="RunIndexService"/> serialises access per project.
/// </summary>
internal sealed class RunTable
{
    private readonly Dictionary<string, int> _positions = new(StringComparer.Ordinal);
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

    /// <summary>Positions allocated (live or not).</summary>
    public int Capacity { get; private set; }

    public int LiveCount { get; private set; }

    public IEnumerable<string> ConfigKeys => _config.Keys;

    public IEnumerable<string> SummaryKeys => _summary.Keys;

    public string Id(int position) => _ids[position];

    public bool IsLive(int position) => _live[position];

    public bool IsDeleted(int position) => _deleted[position];

    public IReadOnlyList<string> Tags(int position) => _tags[position];

    public bool TryGetPosition(string id, out int position) => _positions.TryGetValue(id, out position);

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
        if (!_positions.TryGetValue(row.Id, out var position))
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
            _positions[row.Id] = position;
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
        if (!_positions.TryGetValue(id, out var position) || !_live[position])
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
