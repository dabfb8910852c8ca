using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Ltb.Server.Data.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class Spanning : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "Attempts",
                table: "LabTasks",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "JobId",
                table: "LabTasks",
                type: "TEXT",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "LayoutJson",
                table: "Labs",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "PlacementReason",
                table: "Labs",
                type: "TEXT",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "CpusOverride",
                table: "LabHosts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "MemoryBytesOverride",
                table: "LabHosts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "TunnelAddress",
                table: "LabHosts",
                type: "TEXT",
                maxLength: 100,
                nullable: true);

            migrationBuilder.CreateTable(
                name: "LabTunnels",
                columns: table => new
                {
                    Vni = table.Column<int>(type: "INTEGER", nullable: false),
                    LabId = table.Column<Guid>(type: "TEXT", nullable: false),
                    LinkKey = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LabTunnels", x => x.Vni);
                    table.ForeignKey(
                        name: "FK_LabTunnels_Labs_LabId",
                        column: x => x.LabId,
                        principalTable: "Labs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_LabTunnels_LabId",
                table: "LabTunnels",
                column: "LabId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "LabTunnels");

            migrationBuilder.DropColumn(
                name: "Attempts",
                table: "LabTasks");

            migrationBuilder.DropColumn(
                name: "JobId",
                table: "LabTasks");

            migrationBuilder.DropColumn(
                name: "LayoutJson",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "PlacementReason",
                table: "Labs");

            migrationBuilder.DropColumn(
                name: "CpusOverride",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "MemoryBytesOverride",
                table: "LabHosts");

            migrationBuilder.DropColumn(
                name: "TunnelAddress",
                table: "LabHosts");
        }
    }
}
