using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Ltb.Server.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class UsageHistory : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "UsageRecords",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Tier = table.Column<int>(type: "integer", nullable: false),
                    Start = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    HostId = table.Column<Guid>(type: "uuid", nullable: false),
                    LabId = table.Column<Guid>(type: "uuid", nullable: false),
                    Node = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false),
                    LabName = table.Column<string>(type: "character varying(40)", maxLength: 40, nullable: false),
                    OwnerId = table.Column<Guid>(type: "uuid", nullable: true),
                    GroupId = table.Column<Guid>(type: "uuid", nullable: true),
                    NodeSeconds = table.Column<double>(type: "double precision", nullable: false),
                    CpuSeconds = table.Column<double>(type: "double precision", nullable: false),
                    MemoryByteSeconds = table.Column<double>(type: "double precision", nullable: false),
                    RxBytes = table.Column<long>(type: "bigint", nullable: false),
                    TxBytes = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_UsageRecords", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_GroupId_Start",
                table: "UsageRecords",
                columns: new[] { "GroupId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_HostId_Start",
                table: "UsageRecords",
                columns: new[] { "HostId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_LabId_Start",
                table: "UsageRecords",
                columns: new[] { "LabId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_OwnerId_Start",
                table: "UsageRecords",
                columns: new[] { "OwnerId", "Start" });

            migrationBuilder.CreateIndex(
                name: "IX_UsageRecords_Tier_Start_HostId_LabId_Node",
                table: "UsageRecords",
                columns: new[] { "Tier", "Start", "HostId", "LabId", "Node" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "UsageRecords");
        }
    }
}
